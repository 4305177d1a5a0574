"""Persistence module for the event store: the library's PostgreSQL factory
with our recorder. Selected by PERSISTENCE_MODULE from the composition root."""

from __future__ import annotations

from collections import deque
from typing import Any

from eventsourcing import postgres

from adapters.eventstore.recorder import LedgerRecorder, SnapshotRecorder
from adapters.postgres.pools import event_store_pool


class _MostRecentFirst(deque[Any]):
    """psycopg_pool hands out its idle connections oldest first, so a steady
    trickle of commands visits every backend in turn with cold caches. Taking
    the most recently returned one instead keeps a single warm backend busy
    under light load, which cuts a small save's latency by about a third."""

    def popleft(self) -> Any:
        return self.pop()


class LedgerPostgresFactory(postgres.PostgresFactory):
    application_recorder_class = LedgerRecorder
    aggregate_recorder_class = SnapshotRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # The library's pool would hang requests through a database outage
        # (see adapters/postgres/pools.py); it is replaced before it opens.
        pool = event_store_pool(self.datastore, name="smsledger-events")
        pool._pool = _MostRecentFirst(pool._pool)  # see _MostRecentFirst
        self.datastore.pool = pool
