"""What the application needs from the outside world, as protocols.

Adapters implement these; tests may use the in-memory ones in
`application.memory`, which follow the same contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.inbound import OptAction
from domain.messaging.accepted_batch import AcceptedBatch
from domain.messaging.pricing import RateBook


@dataclass(frozen=True, slots=True)
class AccountProfile:
    """The settings of an account that sending and billing depend on."""

    account_id: str
    name: str
    currency: str
    default_country: str | None
    rate_overrides_micros: Mapping[str, int] = field(default_factory=dict)


class AccountNotFound(LookupError):
    pass


class AccountDirectory(Protocol):
    def profile(self, account_id: str) -> AccountProfile:
        """The account's profile; raises AccountNotFound."""
        ...


class RateBookSource(Protocol):
    def rate_book(self) -> RateBook: ...


@runtime_checkable
class AcceptedBatchEncoder(Protocol):
    """A mapper that can encode a batch of accepted messages in one go."""

    def encode_accepted_batch(self, batch: AcceptedBatch) -> list[StoredEvent]: ...


@runtime_checkable
class EventStreamRecorder(Protocol):
    """A recorder that can consume stored events as they are produced, in
    one transaction that commits only if the iterable is exhausted."""

    def insert_event_stream(self, stored_events: Iterable[StoredEvent]) -> None: ...


class OptOutRegistry(Protocol):
    def record(self, account_id: str, phone: str, action: OptAction, *, source: str,
               keyword: str) -> None:
        """Append an opt-out or opt-in; the log is never rewritten."""
        ...

    def opted_out(self, account_id: str) -> frozenset[str]:
        """The account's opted-out numbers (E.164), as of now."""
        ...


@runtime_checkable
class ManyAggregatesReader(Protocol):
    """A recorder that reads the events of many aggregates in one query."""

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """All events of these aggregates, ordered by aggregate then version."""
        ...
