"""The application recorder: the library's PostgreSQL recorder, with a COPY
path for large batches and a hook for writes that share the transaction.

Insert order must equal commit order, because the relay tails the log by
notification id. The library guarantees it with an EXCLUSIVE lock on the
events table for the length of each inserting transaction; both paths here
take that same lock. A bulk send of 10,000 messages then holds the lock once,
for one COPY, instead of paying per-row statement overhead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

# Below this many events the pipelined `unnest` insert is faster than
# setting up a COPY; above it COPY wins, by a wide margin at 10,000 rows.
COPY_THRESHOLD_EVENTS = 200

# A statement run in the same transaction as the events, before the table
# lock is taken: (sql, params).
SideWrite = tuple[str | Composed, Sequence[Any]]


class LedgerRecorder(PostgresApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if len(stored_events) < COPY_THRESHOLD_EVENTS:
            inserted: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return inserted
        return self._copy_events(stored_events, **kwargs)

    def _copy_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """COPY the events under the table lock.

        Returns no notification ids: turning 10,000 of them into the library's
        Recording objects costs more than the COPY itself, and nothing in this
        process follows its own recordings; the relay reads the table.
        """
        copy_statement = SQL(
            "COPY {schema}.{table} (originator_id, originator_version, topic, state) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
                self._lock_table(curs)
                self._notify_channel(curs)
                with curs.copy(copy_statement) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea"])
                    for e in stored_events:
                        copy.write_row(
                            (e.originator_id, e.originator_version, e.topic, e.state)
                        )

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        side_writes: Sequence[SideWrite] = kwargs.get("side_writes", ())
        for statement, params in side_writes:
            curs.execute(statement, params)
        super()._insert_events(curs, stored_events, **kwargs)
