"""Many messages accepted at once, as one value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.message import Message
from domain.recipient import Recipient


@dataclass(frozen=True, slots=True)
class AcceptedBatch:
    """Messages accepted together: what they share, and each recipient.

    It stands for exactly one Message.Accepted event per recipient, as
    `events()` builds them; an event store adapter may encode the batch
    directly instead, and a contract test holds the two equal.
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

    def events(self) -> list[Message.Accepted]:
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
