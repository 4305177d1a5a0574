"""Stored events read straight from the events table, as the relay and every
rebuild read them.

The library's `select_notifications` reads `SELECT *` into a dict per row
and then a `Notification` per row, which costs more than decoding the event.
These reads ask for only the columns an envelope needs, in binary (a state
is shipped as it is stored, not hex-encoded), as plain tuples, with the
statement prepared on each connection that runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Connection, sql
from psycopg.rows import tuple_row

from adapters.eventstore.envelopes import StoredRow

_SELECT = (
    "SELECT notification_id, originator_id, originator_version, topic, state"
    " FROM {table} WHERE "
)


class RowQuery:
    """One shape of read of the events table: `condition` is what follows
    WHERE (filter, ORDER BY, LIMIT), with %s placeholders."""

    def __init__(self, table: str, condition: str) -> None:
        self._statement = sql.SQL(_SELECT + condition).format(table=sql.Identifier(table))

    def fetch(self, conn: Connection[Any], params: Sequence[Any]) -> list[StoredRow]:
        # Tuples whatever the connection's own row factory.
        with conn.cursor(binary=True, row_factory=tuple_row) as cursor:
            rows: list[StoredRow] = cursor.execute(
                self._statement, params, prepare=True
            ).fetchall()
        return rows
