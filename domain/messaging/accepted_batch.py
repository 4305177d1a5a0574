"""Many messages accepted at once, as one value."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Aggregate

from domain.message import Acceptance, Message
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

    terms: Acceptance
    timestamp: datetime
    recipients: Sequence[Recipient]
    # Set when the sandbox settles these messages as it accepts them
    # (domain/messaging/sandbox.py): the time of their settlement events.
    settled_at: datetime | None = None

    def __post_init__(self) -> None:
        terms = self.terms
        assert self.settled_at is None or (terms.sandbox and terms.scheduled_at is None), (
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
                recipient.message_id, account_id=self.terms.account_id, outcome=outcome,
                timestamp=settled_at,
            )
        ]

    def accepted_events(self) -> list[Message.Accepted]:
        return Message.accepted_events(self.terms, self.recipients, self.timestamp)
