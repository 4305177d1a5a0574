"""What billing needs from a payment processor and from its own tables.

The processor is Stripe in production (adapters/stripe); the application sees
plain values and dicts, never the processor's library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class HostedSession:
    """A hosted payment page: its processor id and where to send the customer."""

    id: str
    url: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    payment_ref: str  # the processor's payment id, also the top-up's reference
    succeeded: bool
    failure: str = ""


@dataclass(frozen=True, slots=True)
class BillingCustomer:
    account_id: str
    customer_ref: str
    payment_method_ref: str | None


class PaymentGateway(Protocol):
    def create_customer(self, account_id: str, *, idempotency_key: str) -> str:
        """A new customer at the processor for the account; its id."""
        ...

    def create_checkout(
        self, *, customer_ref: str, amount_minor: int, currency: str,
        metadata: Mapping[str, str], idempotency_key: str,
    ) -> HostedSession:
        """A one-off payment page for `amount_minor` (pence, cents)."""
        ...

    def create_setup_checkout(
        self, *, customer_ref: str, currency: str, metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> HostedSession:
        """A page that saves a payment method for later off-session charges."""
        ...

    def sessions_created_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Every hosted session created at or after `since`, as plain dicts."""
        ...

    def payment_method_of_setup(self, setup_ref: str) -> str:
        """The payment method a completed setup saved."""
        ...

    def charge_off_session(
        self, *, customer_ref: str, payment_method_ref: str, amount_minor: int,
        currency: str, metadata: Mapping[str, str], idempotency_key: str,
    ) -> ChargeResult:
        """Charge a saved method without the customer present."""
        ...


class BillingStore(Protocol):
    def customer(self, account_id: str) -> BillingCustomer | None: ...

    def save_customer(self, account_id: str, customer_ref: str) -> BillingCustomer:
        """Keep the first customer saved for the account; return the kept one."""
        ...

    def save_payment_method(self, account_id: str, payment_method_ref: str) -> None: ...

    def remember_payment(self, payment_ref: str, account_id: str, session_ref: str) -> None:
        """Which account a processor payment belongs to, for its refunds and disputes."""
        ...

    def account_of_payment(self, payment_ref: str) -> str | None: ...

    def record_notification(
        self, event_ref: str, event_type: str, object_ref: str, outcome: str
    ) -> None:
        """Keep every processor notification received and what it led to."""
        ...


class PolicyPositions(Protocol):
    def get(self, name: str) -> int: ...

    def set(self, name: str, position: int) -> None: ...
