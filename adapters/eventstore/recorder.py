"""The application recorder: the library's PostgreSQL recorder with faster
write paths.

Insert order must equal commit order, because the relay tails the log by
notification id. The library guarantees it with an EXCLUSIVE lock on the
events table for the length of each inserting transaction; every path here
takes that same lock:
- a small save (a send: two events) is one call of a server function that
  locks and inserts, in its own implicit transaction: one round trip;
- a middle-sized save (a group of concurrent sends) calls the same kind of
  function with four arrays, passed as array literals built here;
- a large save (a bulk send: 10,000 events) is one COPY under the lock.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import PoolTimeout

from adapters.postgres.pools import FailFastPool
from application.errors import OutcomeUnknown

# No NOTIFY on insert: the relay polls the log in sections and nothing here
# LISTENs, while a NOTIFY takes a database-wide queue lock at every commit.
#
# Below this many events one INSERT ... unnest is faster than setting up a
# COPY; above it COPY wins, by a wide margin at 10,000 rows.
COPY_THRESHOLD_EVENTS = 200
# Saves of up to this many events call a function with scalar parameters.
MAX_SCALAR_APPEND_ROWS = 8


# The library wraps its reads and writes in a retry loop: ten attempts, 0.2 s
# apart, each waiting for a pooled connection. Through a database outage
# that kept a request (and the wallet lock it held) waiting for seconds, and
# a write retried after its connection was lost could commit twice over the
# caller's single request. These are the same methods without the loop.
_SELECT_EVENTS = inspect.unwrap(PostgresAggregateRecorder.select_events)
_INSERT_SNAPSHOTS = inspect.unwrap(PostgresAggregateRecorder.insert_events)


def select_events_once(
    recorder: PostgresAggregateRecorder, originator_id: UUID | str, **kwargs: Any
) -> Sequence[StoredEvent]:
    """The library's read, tried once more at once if it failed, unless the
    pool knows the database is unreachable: a second try gets another
    connection when the first was a stale one (the server restarted since
    it was pooled), and cannot help while the server is down."""
    try:
        return list(_SELECT_EVENTS(recorder, originator_id, **kwargs))
    except (InterfaceError, OperationalError):
        pool = recorder.datastore.pool
        if isinstance(pool, FailFastPool) and pool.unreachable:
            raise
    return list(_SELECT_EVENTS(recorder, originator_id, **kwargs))


class _ReadsOnce(PostgresAggregateRecorder):
    """The library's recorder, its reads tried as select_events_once does."""

    def select_events(
        self, originator_id: UUID | str, *, gt: int | None = None, lte: int | None = None,
        desc: bool = False, limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return select_events_once(self, originator_id, gt=gt, lte=lte, desc=desc, limit=limit)


class SnapshotRecorder(_ReadsOnce):
    """The snapshot store, without the library's retry loop. A snapshot that
    cannot be written is only logged (LedgerApplication._snapshot_from_memory),
    and its writer holds the wallet's lock while it tries."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        result: Sequence[int] | None = _INSERT_SNAPSHOTS(self, stored_events, **kwargs)
        return result


class LedgerRecorder(_ReadsOnce, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._append_function = f"{self.events_table_name}_append"
        self.sql_create_statements.append(self._create_append_function())
        for row_count in range(1, MAX_SCALAR_APPEND_ROWS + 1):
            self.sql_create_statements.append(self._create_scalar_append_function(row_count))
        self._scalar_calls = {
            n: SQL("SELECT {schema}.{function}(" + ", ".join(["%s"] * 4 * n) + ")").format(
                schema=Identifier(self.datastore.schema),
                function=Identifier(f"{self._append_function}_{n}"),
            )
            for n in range(1, MAX_SCALAR_APPEND_ROWS + 1)
        }
        self._call_append = SQL("SELECT {schema}.{function}(%s, %s, %s, %s)").format(
            schema=Identifier(self.datastore.schema),
            function=Identifier(self._append_function),
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        with _outcome_known():
            if len(stored_events) >= COPY_THRESHOLD_EVENTS:
                self._copy_events(stored_events, **kwargs)
                return None
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

    def _create_scalar_append_function(self, row_count: int) -> Composed:
        """The same, for exactly `row_count` rows passed as scalars: psycopg
        adapts four arrays much more slowly than a few plain values, and a
        send saves two events."""
        params = ", ".join(
            f"id{i} uuid, version{i} bigint, topic{i} text, state{i} bytea"
            for i in range(row_count)
        )
        values = ", ".join(
            f"(id{i}, version{i}, topic{i}, state{i})" for i in range(row_count)
        )
        return SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(" + params + ")"
            " RETURNS SETOF bigint LANGUAGE plpgsql AS $body$"
            " BEGIN"
            "   SET LOCAL lock_timeout = '{lock_timeout}s';"
            "   LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;"
            "   RETURN QUERY INSERT INTO {schema}.{table}"
            "     (originator_id, originator_version, topic, state)"
            "     VALUES " + values + " RETURNING notification_id;"
            " END $body$"
        ).format(
            schema=Identifier(self.datastore.schema),
            function=Identifier(f"{self._append_function}_{row_count}"),
            table=Identifier(self.events_table_name),
            lock_timeout=self.datastore.lock_timeout,
        )

    def _append(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        call = self._scalar_calls.get(len(stored_events))
        params: Sequence[Any]
        if call is not None:
            params = [
                value
                for e in stored_events
                for value in (e.originator_id, e.originator_version, e.topic, e.state)
            ]
        else:
            call = self._call_append
            params = _array_literals(stored_events)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(call, params, prepare=True)
            return [int(next(iter(row.values()))) for row in curs.fetchall()]

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """All events of many aggregates in one query, by aggregate and version."""
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table}"
            " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(originator_ids),))
            return [
                StoredEvent(row["originator_id"], row["originator_version"], row["topic"],
                            bytes(row["state"]))
                for row in curs.fetchall()
            ]

    def insert_event_stream(self, stored_events: Iterable[StoredEvent]) -> None:
        """COPY events as the iterable produces them; an error while it
        produces rolls everything back."""
        with _outcome_known():
            self._copy_events(stored_events)

    def _copy_events(self, stored_events: Iterable[StoredEvent], **kwargs: Any) -> None:
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
                self._lock_table(curs)
                with curs.copy(copy_statement) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea"])
                    for e in stored_events:
                        copy.write_row(
                            (e.originator_id, e.originator_version, e.topic, e.state)
                        )


@contextmanager
def _outcome_known() -> Iterator[None]:
    """A write that failed for certain raises as it did; one whose connection
    was lost after the statement (or its COMMIT) may have been sent raises
    OutcomeUnknown, since the server may have committed it all the same.

    Certain: no connection was had (PoolTimeout), or the server answered
    with an error (it has an SQLSTATE, such as 57P01 when it shuts down):
    a failed statement commits nothing. Anything else (a socket closed, an
    EOF, a timeout without an answer) may have followed a commit.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as error:
        cause = error.__cause__
        answered = isinstance(cause, psycopg.Error) and cause.sqlstate is not None
        if isinstance(cause, PoolTimeout) or answered:
            raise
        raise OutcomeUnknown(
            "The connection to the database was lost while this was being saved, so"
            " it may or may not have been saved. Retry with the same Idempotency-Key"
            " to find out; without one, look it up before sending it again",
            outcome="unknown",
        ) from error


def _array_literals(stored_events: Sequence[StoredEvent]) -> tuple[str, str, str, str]:
    """The four columns as PostgreSQL array literals, for the function's
    uuid[], bigint[], text[] and bytea[] parameters.

    psycopg adapts a Python list element by element and costs about 25 us
    of CPU per event here (1.1 ms for a group of 20 sends); these joins cost
    a quarter of that, and the server parses the literals quickly. Topics
    are quoted and escaped; states are hex, as "\\x..." inside the quotes.
    """
    ids = ",".join([str(e.originator_id) for e in stored_events])
    versions = ",".join([str(int(e.originator_version)) for e in stored_events])
    topics = ",".join([_quoted(e.topic) for e in stored_events])
    states = ",".join(['"\\\\x' + e.state.hex() + '"' for e in stored_events])
    return "{" + ids + "}", "{" + versions + "}", "{" + topics + "}", "{" + states + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
