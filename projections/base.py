"""What a projection is: a named read model built from published envelopes.

A projection owns its tables. It is handed envelopes in notification-id order,
in batches, inside a transaction that the runner opens and commits together
with the projection's tracking position, so applying is all-or-nothing per
batch and an envelope at or below the position is never handed over again.
A projection never loads aggregates; it may read its own tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from psycopg import Cursor

from domain.published import Envelope


class Projection(Protocol):
    #: Stable name: the tracking key and the durable consumer's name.
    name: str
    #: Tables it owns, emptied by a rebuild, in an order safe to truncate;
    #: dropped and created again from `ddl` when `schema_version` changes.
    tables: tuple[str, ...]
    #: Published event types it reads; others are skipped by the runner.
    event_types: frozenset[str]
    #: The shape of its tables and of the rows `apply` writes. Bump it with
    #: any change to either (a column, what a column holds): `smsledger
    #: migrate` then rebuilds the read model from the event store.
    schema_version: int

    def ddl(self) -> str:
        """CREATE TABLE IF NOT EXISTS ... for its tables and indexes."""
        ...

    def apply(self, cursor: Cursor[tuple[object, ...]], envelopes: Sequence[Envelope]) -> None:
        """Apply a batch, in notification-id order. The runner hands each
        envelope over exactly once (its position is committed in the same
        transaction), so a projection need not deduplicate. Raise to refuse
        the batch; the runner retries it and parks a poison envelope."""
        ...
