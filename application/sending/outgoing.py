"""A send as every entry point states it, made into the command it needs.

An entry point (the HTTP API and its dialects, an SMPP bind, a campaign's
chunk, another channel) reads its own wire format into one `Outgoing`: who
sends what, from which account and mode, on which terms. Whether it goes to
one number or many is decided last, by `to_one` or `to_many`, which copy
every term by name. A term added to sending is added here once; a unit test
holds these fields equal to those of SendMessage and SendBulk, so no entry
point can build a command that leaves it behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from application.sending.send import BulkRecipient, SendBulk, SendMessage
from domain.message import DEFAULT_VALIDITY_MINUTES


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    account_id: str
    sandbox: bool
    sender: str
    body: str  # resolved: a template's content, the sender ID checked
    client_ref: str | None = None
    unicode: bool = False
    validity_minutes: int = DEFAULT_VALIDITY_MINUTES
    # The key message and batch ids derive from, scoped to the sending mode.
    idempotency_key: str | None = None
    scheduled_at: datetime | None = None
    callback_url: str | None = None

    def to_one(self, to: str, variables: Mapping[str, object] | None = None) -> SendMessage:
        """One message to one number."""
        return SendMessage(to=to, variables=variables or {}, **self.terms())

    def to_many(self, recipients: Sequence[BulkRecipient]) -> SendBulk:
        """One batch: a message per recipient, accepted (or refused) together."""
        return SendBulk(recipients=recipients, **self.terms())

    def terms(self) -> dict[str, Any]:
        """Every field, by name."""
        return {name: getattr(self, name) for name in OUTGOING_FIELDS}


OUTGOING_FIELDS = tuple(f.name for f in fields(Outgoing))
