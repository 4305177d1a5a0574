"""Schema for the configuration tables that live beside the event store.

Migrations are numbered and applied in order, each in its own transaction,
under an advisory lock so that two processes starting at once do not race.
Running them again is a no-op. The event store's own tables are created by
the library's recorder, in the same run, and each read model's tables by its
projection.
"""

from __future__ import annotations

import logging

import psycopg

from adapters.postgres.schema import (
    api_keys,
    billing,
    contacts,
    core,
    delivery,
    identity,
    send_surface,
    webhooks,
)
from projections.registry import ALL_PROJECTIONS

log = logging.getLogger(__name__)

# An arbitrary constant that names our migration lock in pg_advisory_lock.
MIGRATION_LOCK_KEY = 0x5E5_1ED6E5

# Each part of the product keeps its migrations in its own module; numbers
# are unique across them (a unit test checks) and applied in order.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    core.MIGRATIONS
    + identity.MIGRATIONS
    + send_surface.MIGRATIONS
    + webhooks.MIGRATIONS
    + billing.MIGRATIONS
    + contacts.MIGRATIONS
    + api_keys.MIGRATIONS
    + delivery.MIGRATIONS
)


def migrate(conn: psycopg.Connection[object]) -> list[int]:
    """Apply pending migrations; returns the versions applied now."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY,"
            " description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
        done = {int(row[0]) for row in rows}  # type: ignore[index]
        for version, description, sql in sorted(MIGRATIONS):  # by number, whatever the order here
            if version in done:
                continue
            log.info("applying migration %s: %s", version, description)
            conn.execute(sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                (version, description),
            )
            applied_now.append(version)
        # Read models declare their own tables, idempotently; a rebuild fills them.
        for projection in ALL_PROJECTIONS:
            conn.execute(projection.ddl().encode())
    return applied_now
