"""A projection's tracking position, read and advanced inside the same
transaction as its read tables."""

from __future__ import annotations

from datetime import datetime

from psycopg import Cursor


def projection_lock_key(name: str) -> str:
    return f"projection:{name}"


def try_lock(cursor: Cursor[tuple[object, ...]], name: str) -> bool:
    """Transaction-scoped lock: one writer per projection, live or rebuild."""
    row = cursor.execute(
        "SELECT pg_try_advisory_xact_lock(hashtext(%s))", (projection_lock_key(name),)
    ).fetchone()
    return bool(row and row[0])


def current_position(cursor: Cursor[tuple[object, ...]], name: str) -> int:
    cursor.execute(
        "INSERT INTO projection_positions (name, position) VALUES (%s, 0)"
        " ON CONFLICT (name) DO NOTHING",
        (name,),
    )
    row = cursor.execute(
        "SELECT position FROM projection_positions WHERE name = %s FOR UPDATE", (name,)
    ).fetchone()
    assert row is not None
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
    cursor.execute(
        "INSERT INTO projection_positions (name, position) VALUES (%s, 0)"
        " ON CONFLICT (name) DO UPDATE SET position = 0, last_event_at = NULL,"
        " updated_at = now()",
        (name,),
    )
