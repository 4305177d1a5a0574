"""What the dispatcher needs besides carriers: a clock, claims on messages,
an index from carrier message ids back to our messages, and the accounts
replies go to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.delivery.carriers import DeliveryReceipt


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware current time."""
        ...

    def monotonic(self) -> float: ...


@dataclass(frozen=True, slots=True)
class AwaitedReceipt:
    """A submitted message whose final receipt has not come yet."""

    message_id: UUID
    carrier: str
    carrier_message_id: str
    settle_after: datetime  # validity plus the route's grace
    capture_on_silence: bool


class DispatchClaims(Protocol):
    def claim(self, message_ids: Sequence[UUID], owner: str, lease_s: float) -> set[UUID]:
        """The messages this owner may submit now: those nobody holds, or
        whose previous holder's lease ran out (it crashed mid-submit)."""
        ...

    def release(self, message_ids: Sequence[UUID]) -> None:
        """Drop claims once the outcome is recorded: the message's own status
        guards it from then on."""
        ...


@dataclass(frozen=True, slots=True)
class SentTo:
    """A live message handed to a carrier: a reply from its number is the
    account's, until another account's message goes to that number."""

    destination: str  # E.164
    account_id: str


class ReplyRoutes(Protocol):
    """The write side's own record of who last wrote to each number; the
    message log, a read model that may be rebuilding, is no source for it."""

    def note(self, sent: Sequence[SentTo]) -> None:
        """Each number's account is the one it was last sent for, in order."""
        ...

    def account_for(self, number: str) -> str | None: ...


class ReceiptIndex(Protocol):
    def add(self, entries: Sequence[AwaitedReceipt]) -> None: ...

    def find(self, carrier: str, carrier_message_ids: Sequence[str]) -> dict[str, UUID]:
        """Our message ids for the carrier's ids that are known."""
        ...

    def remove(self, message_ids: Sequence[UUID]) -> None: ...

    def overdue(self, now: datetime, limit: int) -> list[AwaitedReceipt]: ...

    def park(self, receipts: Sequence[DeliveryReceipt], now: datetime) -> None:
        """Keep receipts whose message is not known yet, to retry later."""
        ...

    def matched_parked(self, limit: int) -> list[tuple[int, DeliveryReceipt]]:
        """Parked receipts whose message is known now, oldest first: (id,
        receipt). Receipts that still match nothing are not among them, so
        however many there are, they never hold back one that matches."""
        ...

    def unpark(self, parked_ids: Sequence[int]) -> None: ...

    def receive(self, receipts: Sequence[DeliveryReceipt], now: datetime) -> None:
        """Keep receipts durably until a dispatcher settles them."""
        ...

    def settle_received(
        self, limit: int, settle: Callable[[list[DeliveryReceipt]], object]
    ) -> int:
        """Hand up to `limit` kept receipts, oldest first and none that another
        dispatcher holds, to `settle`, and forget them once it returns. If it
        raises, or the process dies meanwhile, they stay for the next round.
        How many were handed over."""
        ...

    def expire_parked(self, parked_before: datetime, limit: int) -> list[DeliveryReceipt]:
        """Drop receipts parked before the cutoff that still match nothing;
        the dropped ones, for the log."""
        ...
