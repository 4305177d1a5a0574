"""Response bodies of the read API, as msgspec structs.

Every amount is given in integer micros (the amount of record) and in whole
minor units of the currency (pence, cents), as the seed's billing shows them.
Read models lag the write side by a moment: a message just sent may be
NOT_FOUND for as long as the projections take to see it.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class StatusCounts(msgspec.Struct):
    """Messages per status (every status, zero included)."""

    scheduled: int
    queued: int
    sent: int
    delivered: int
    failed: int
    expired: int
    rejected: int
    cancelled: int


# Messages ------------------------------------------------------------------


class MessageEventOut(msgspec.Struct):
    type: str
    status: str
    carrier_status: str | None
    error_code: str | None
    occurred_at: datetime


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    message_id: str
    status: str
    destination: str
    country: str
    sender: str
    encoding: str
    segments: int
    cost_micros: int
    # A JSON number rendered from the exact micros, as on the send response.
    cost: float
    currency: str
    charge: str  # held, captured, released or none
    carrier_status: str | None
    error_code: str | None
    error_reason: str | None
    client_ref: str | None
    campaign_id: str | None
    sandbox: bool
    accepted_at: datetime
    submitted_at: datetime | None
    delivered_at: datetime | None
    final_at: datetime | None
    updated_at: datetime


class MessageDetailOut(MessageOut, kw_only=True):
    events: list[MessageEventOut]


# Delivery statistics --------------------------------------------------------


class DlrBreakdownOut(msgspec.Struct):
    day: date
    country: str
    counts: StatusCounts
    total: int
    delivery_rate: float | None


class DlrStatsOut(msgspec.Struct):
    totals: StatusCounts
    total: int
    # delivered / (delivered + failed + expired + rejected); null before any.
    delivery_rate: float | None
    median_delivery_ms: int | None
    breakdown: list[DlrBreakdownOut]


# Campaigns -----------------------------------------------------------------


class CampaignOut(msgspec.Struct, kw_only=True):
    id: str
    campaign_id: str
    kind: str | None  # batch or campaign
    name: str | None
    sender: str | None
    client_ref: str | None
    sandbox: bool
    status: str  # the campaign's own state: draft, running, completed, failed
    failure_reason: str | None
    accepted: int
    rejected: int
    messages: StatusCounts
    messages_total: int
    # The price of the accepted messages, as reserved when they were accepted.
    total_cost_micros: int
    total_cost: int
    currency: str
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    updated_at: datetime
    # The review workflow of full campaigns (a bulk batch leaves these at
    # their zero values).
    schedule_at: datetime | None = None
    reason: str | None = None  # why it was paused, rejected, cancelled or failed
    listed: int = 0
    recipients: int = 0  # frozen at submission
    processed: int = 0  # accepted + rejected so far
    opted_out: int = 0
    cost_so_far_micros: int = 0
    cost_so_far: int = 0
    eta_seconds: int | None = None  # while sending, from the rate so far
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    rejected_at: datetime | None = None
    paused_at: datetime | None = None
    cancelled_at: datetime | None = None


# Billing -------------------------------------------------------------------


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


# Inbound -------------------------------------------------------------------


class InboundOut(msgspec.Struct):
    id: str
    direction: str
    carrier: str
    from_: str = msgspec.field(name="from")
    to: str = ""
    body: str = ""
    received_at: datetime | None = None


