"""Bodies of the billing endpoints: checkout, auto top-up, invoices.

Amounts are integer minor units (pence, cents), as everywhere in the public
API; `*_micros` fields give the exact figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from adapters.http.bodies import Request

MinorAmount = Annotated[int, msgspec.Meta(ge=0, le=99_999_999)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")]


class CheckoutRequest(Request):
    amount: Annotated[int, msgspec.Meta(ge=1, le=99_999_999)]
    currency: Currency


class CheckoutOut(msgspec.Struct):
    id: str
    url: str
    amount: int
    currency: str
    topup_ref: str
    sandbox: bool
    credited: bool


class AutoTopUpRequest(Request):
    enabled: bool
    threshold: MinorAmount
    amount: MinorAmount


class AutoTopUpOut(msgspec.Struct):
    enabled: bool
    threshold: int
    amount: int
    currency: str
    # Set when no card is saved yet: the rule switches on once it is.
    setup_url: str | None


class StripeEventOut(msgspec.Struct):
    received: bool
    outcome: str


class InvoiceLineOut(msgspec.Struct):
    kind: str  # PURCHASE, REFUND or ADJUSTMENT
    reference: str
    amount: int
    amount_micros: int
    occurred_at: datetime


class InvoiceUsageOut(msgspec.Struct):
    country: str
    messages: int
    cost: int
    cost_micros: int


class InvoiceOut(msgspec.Struct):
    id: str
    month: str
    # "draft": the month to date, its figures taken at closed_at; "closed":
    # the month's invoice, which never changes.
    status: Literal["draft", "closed"]
    currency: str
    period_start: datetime
    period_end: datetime
    opening_balance: int
    purchases: int
    refunds: int
    adjustments: int
    usage: int
    closing_balance: int
    opening_balance_micros: int
    purchases_micros: int
    refunds_micros: int
    adjustments_micros: int
    usage_micros: int
    closing_balance_micros: int
    entry_hash: str
    closed_at: datetime
    lines: list[InvoiceLineOut] = msgspec.field(default_factory=list)
    usage_by_country: list[InvoiceUsageOut] = msgspec.field(default_factory=list)


class TransactionOut(msgspec.Struct, kw_only=True):
    """One statement line, newest first. `amount` is signed from the customer's
    side; `balance_change_micros` is 0 for RESERVATION and REFUND, which only
    move money between spendable funds and holds."""

    id: str
    type: str
    amount: int  # minor units, the size rounded up; amount_micros is exact
    amount_micros: int
    balance_change_micros: int
    balance_after: int  # minor units, floored
    balance_after_micros: int
    reserved_after_micros: int
    currency: str
    reference: str
    description: str
    created_at: datetime


class CountryUsageOut(msgspec.Struct):
    country: str
    messages: int
    segments: int
    cost_micros: int
    cost: int


class UsageOut(msgspec.Struct, kw_only=True):
    month: str
    currency: str
    sandbox: bool
    messages: int
    segments: int
    cost_micros: int
    cost: int
    by_country: list[CountryUsageOut]
