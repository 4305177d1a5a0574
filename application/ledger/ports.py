"""What the ledger application needs from the event store beyond the
library's recorder: encoding a batch of accepted messages in one go,
inserting a stream of events under one lock, and reading many aggregates
in one query. The PostgreSQL recorder and the msgspec mapper provide them;
the in-memory recorder does not, and the ledger falls back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.messaging.accepted_batch import AcceptedBatch


@runtime_checkable
class AcceptedBatchEncoder(Protocol):
    """A mapper that can encode a batch of accepted messages in one go."""

    def encode_accepted_batch(self, batch: AcceptedBatch) -> list[StoredEvent]: ...


@runtime_checkable
class EventStreamRecorder(Protocol):
    """A recorder that can consume stored events as they are produced, in
    one transaction that commits only if the iterable is exhausted."""

    def insert_event_stream(self, stored_events: Iterable[StoredEvent]) -> None: ...


@runtime_checkable
class ManyAggregatesReader(Protocol):
    """A recorder that reads the events of many aggregates in one query."""

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """All events of these aggregates, ordered by aggregate then version."""
        ...
