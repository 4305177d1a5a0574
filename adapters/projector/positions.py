"""A projection's tracking position and schema version, read and advanced
inside the same transaction as its read tables."""

from __future__ import annotations

from datetime import datetime

from psycopg import Cursor


class ProjectionOutdated(Exception):
    """The read model was written by another version of the projection (or
    its rebuild has not finished): `smsledger migrate` rebuilds it."""


def projection_lock_key(name: str) -> str:
    return f"projection:{name}"


def try_lock(cursor: Cursor[tuple[object, ...]], name: str) -> bool:
    """Transaction-scoped lock: one writer per projection, live or rebuild."""
    row = cursor.execute(
        "SELECT pg_try_advisory_xact_lock(hashtext(%s))", (projection_lock_key(name),)
    ).fetchone()
    return bool(row and row[0])


def current_position(cursor: Cursor[tuple[object, ...]], name: str, schema_version: int) -> int:
    """The position, locked; ProjectionOutdated if another version of the
    projection wrote the read model, so that this one never writes rows of
    its shape among theirs. A projection seen for the first time starts
    empty, at this version."""
    cursor.execute(
        "INSERT INTO projection_positions (name, position, schema_version) VALUES (%s, 0, %s)"
        " ON CONFLICT (name) DO NOTHING",
        (name, schema_version),
    )
    row = cursor.execute(
        "SELECT position, schema_version FROM projection_positions WHERE name = %s FOR UPDATE",
        (name,),
    ).fetchone()
    assert row is not None
    if row[1] != schema_version:
        raise ProjectionOutdated(
            f"projection {name} is at schema version {row[1]}, this code writes version"
            f" {schema_version}; run `smsledger migrate`"
        )
    return int(row[0])  # type: ignore[call-overload,no-any-return]


def advance(
    cursor: Cursor[tuple[object, ...]], name: str, position: int, last_event_at: datetime | None
) -> None:
    cursor.execute(
        "UPDATE projection_positions SET position = %s,"
        " last_event_at = COALESCE(%s, last_event_at), updated_at = now()"
        " WHERE name = %s AND position <= %s",
        (position, last_event_at, name, position),
    )


def reset(cursor: Cursor[tuple[object, ...]], name: str) -> None:
    """Back to the start, with no version until the rebuild completes: a
    rebuild that fails half way leaves a read model no version vouches for."""
    cursor.execute(
        "INSERT INTO projection_positions (name, position, schema_version) VALUES (%s, 0, NULL)"
        " ON CONFLICT (name) DO UPDATE SET position = 0, last_event_at = NULL,"
        " schema_version = NULL, updated_at = now()",
        (name,),
    )


def record_version(cursor: Cursor[tuple[object, ...]], name: str, schema_version: int) -> None:
    cursor.execute(
        "UPDATE projection_positions SET schema_version = %s, updated_at = now() WHERE name = %s",
        (schema_version, name),
    )
