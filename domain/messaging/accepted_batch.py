"""Many messages accepted at once, as one value."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.message import Message
from domain.messaging.recipient import Recipient
from domain.messaging.sandbox import sandbox_outcome
from domain.messaging.simulator import SimulatedOutcome


@dataclass(frozen=True, slots=True)
class AcceptedBatch:
    """Messages accepted together: what they share, and each recipient.

    It stands for one Message.Accepted event per recipient, then, for a
    batch the sandbox settles as it accepts it (`settled_at`), each settled
    message's settlement events, as `events()` builds them; an event store
    adapter may encode the batch directly instead, and a contract test holds
    the two equal.
    """

    account_id: str
    wallet_id: UUID
    campaign_id: UUID | None
    reservation_id: str
    sender: str
    currency: str
    client_ref: str | None
    sandbox: bool
    validity_minutes: int
    timestamp: datetime
    recipients: Sequence[Recipient]
    scheduled_at: datetime | None = None
    callback_url: str | None = None
    # Set when the sandbox settles these messages as it accepts them
    # (domain/messaging/sandbox.py): the time of their settlement events.
    settled_at: datetime | None = None

    def __post_init__(self) -> None:
        assert self.settled_at is None or (self.sandbox and self.scheduled_at is None), (
            "only the sandbox settles, and only messages sent now")

    def events(self) -> list[Aggregate.Event]:
        return [*self.accepted_events(), *self.settlement_events()]

    def settlements(self) -> Iterator[tuple[Recipient, SimulatedOutcome]]:
        """The recipients settled at once, with their outcome, in order."""
        if self.settled_at is None:
            return
        for recipient in self.recipients:
            outcome = sandbox_outcome(recipient.message_id, recipient.destination)
            if outcome is not None:
                yield recipient, outcome

    def settlement_events(self) -> list[Message.Event]:
        settled_at = self.settled_at
        if settled_at is None:
            return []
        return [
            event
            for recipient, outcome in self.settlements()
            for event in Message.sandbox_settlement_events(
                recipient.message_id, account_id=self.account_id, outcome=outcome,
                timestamp=settled_at,
            )
        ]

    def accepted_events(self) -> list[Message.Accepted]:
        return [
            Message.accepted_event(
                recipient,
                account_id=self.account_id,
                wallet_id=self.wallet_id,
                campaign_id=self.campaign_id,
                reservation_id=self.reservation_id,
                sender=self.sender,
                currency=self.currency,
                client_ref=self.client_ref,
                sandbox=self.sandbox,
                validity_minutes=self.validity_minutes,
                timestamp=self.timestamp,
                scheduled_at=self.scheduled_at,
                callback_url=self.callback_url,
            )
            for recipient in self.recipients
        ]
