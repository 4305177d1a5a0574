"""Persistence module for the event store: the library's PostgreSQL factory
with our recorder. Selected by PERSISTENCE_MODULE from the composition root."""

from __future__ import annotations

from eventsourcing import postgres

from adapters.eventstore.recorder import LedgerRecorder


class LedgerPostgresFactory(postgres.PostgresFactory):
    application_recorder_class = LedgerRecorder
