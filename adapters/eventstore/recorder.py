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

# No NOTIFY on insert: the relay polls the log in sections and nothing here
# LISTENs, while a NOTIFY takes a database-wide queue lock at every commit.
#
# Below this many events the pipelined `unnest` insert is faster than
# setting up a COPY; above it COPY wins, by a wide margin at 10,000 rows.
COPY_THRESHOLD_EVENTS = 200

# A statement run in the same transaction as the events, before the table
# lock is taken: (sql, params).
SideWrite = tuple[str | Composed, Sequence[Any]]


_BEGIN = SQL("BEGIN")
_COMMIT = SQL("COMMIT")


class LedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Composing SQL costs more than executing it; one statement per size.
        self._insert_statements: dict[int, Composed] = {}
        self._append_function = f"{self.events_table_name}_append"
        self.sql_create_statements.append(self._create_append_function())
        self._call_append = SQL("SELECT {schema}.{function}(%s, %s, %s, %s)").format(
            schema=Identifier(self.datastore.schema),
            function=Identifier(self._append_function),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        if len(stored_events) >= COPY_THRESHOLD_EVENTS:
            self._copy_events(stored_events, **kwargs)
            return None
        if kwargs.get("side_writes"):
            return self._insert_in_one_round_trip(stored_events, **kwargs)
        return self._append(stored_events)

    def _create_append_function(self) -> Composed:
        """One statement that locks and inserts, so a small save is a single
        statement in its own implicit transaction: one round trip, nothing
        for the client to sequence. The lock is held until that transaction
        commits, exactly as on the other paths."""
        return SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}("
            " ids uuid[], versions bigint[], topics text[], states bytea[])"
            " RETURNS SETOF bigint LANGUAGE plpgsql AS $body$"
            " BEGIN"
            "   SET LOCAL lock_timeout = '{lock_timeout}s';"
            "   LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;"
            "   RETURN QUERY INSERT INTO {schema}.{table}"
            "     (originator_id, originator_version, topic, state)"
            "     SELECT * FROM unnest(ids, versions, topics, states)"
            "     RETURNING notification_id;"
            " END $body$"
        ).format(
            schema=Identifier(self.datastore.schema),
            function=Identifier(self._append_function),
            table=Identifier(self.events_table_name),
            lock_timeout=self.datastore.lock_timeout,
        )

    def _append(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        params = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._call_append, params, prepare=True)
            return [int(next(iter(row.values()))) for row in curs.fetchall()]

    def _insert_in_one_round_trip(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> list[int]:
        """BEGIN, lock, side writes, one multi-row INSERT, COMMIT: all queued
        in one pipeline and sent together, so a send pays one round trip to
        the server instead of the several of the library's path."""
        params = [
            value
            for e in stored_events
            for value in (e.originator_id, e.originator_version, e.topic, e.state)
        ]
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline() as pipeline, conn.cursor() as curs:
                    curs.execute(_BEGIN)
                    self._insert_events(curs, stored_events, **kwargs)
                    self._lock_table(curs)
                    # Its own cursor: the COMMIT below must not replace the
                    # INSERT's result set before it is fetched.
                    inserting = conn.cursor()
                    inserting.execute(self._multi_row_insert(len(stored_events)), params)
                    curs.execute(_COMMIT)
                    pipeline.sync()
                    return [int(row["notification_id"]) for row in inserting.fetchall()]
            except BaseException:
                # The pipeline stopped at the failed statement, inside our
                # explicit transaction; end it before the pool takes it back.
                if not conn.closed:
                    conn.rollback()
                raise

    def _multi_row_insert(self, row_count: int) -> Composed:
        statement = self._insert_statements.get(row_count)
        if statement is None:
            rows = ",".join(["(%s, %s, %s, %s)"] * row_count)
            statement = SQL(
                "INSERT INTO {schema}.{table}"
                " (originator_id, originator_version, topic, state)"
                " VALUES " + rows + " RETURNING notification_id"
            ).format(
                schema=Identifier(self.datastore.schema),
                table=Identifier(self.events_table_name),
            )
            self._insert_statements[row_count] = statement
        return statement

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
