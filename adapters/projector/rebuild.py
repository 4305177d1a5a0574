"""Rebuild a projection straight from the event store, not from NATS.

The rebuild holds the projection's advisory lock on its own connection, so
the live consumer's batches are turned away (and redelivered) while it runs.
It empties the projection's tables, drops their secondary indexes, applies
every event up to the log's current end in large sections, each committed
with the position, builds the indexes again, then lets go: the live
consumer resumes, skips what the rebuild covered and applies the rest. No
gap, no double count. The projection's schema version is recorded with the
last commit, so a rebuild that fails half way is taken up again by migrate.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg import Connection, Cursor, sql
from psycopg_pool import ConnectionPool

from adapters.projector import positions
from adapters.projector.sections import ReadAhead
from adapters.projector.status import topics_of
from projections.base import Projection

REBUILD_SECTION_SIZE = 5000
LOCK_WAIT_S = 30.0
# The collector's first generation runs every 700 net allocations by default.
# A rebuild allocates millions of short-lived dicts and envelopes that
# reference counting frees anyway, and every collection would walk them for
# nothing; this many makes it run a hundred times less often.
_REBUILD_GC_GEN0_THRESHOLD = 70_000

Progress = Callable[[int, int], None]  # (position reached, target position)


@dataclass(frozen=True, slots=True)
class RebuildResult:
    projection: str
    #: Events of the projection's topics read from the store; the server
    #: skips the others, but the rebuild covers the whole log up to `position`.
    events_read: int
    envelopes_applied: int
    position: int
    #: Where the time went: reading and decoding (in the read-ahead thread,
    #: alongside the writes), waiting for a section that was not read yet,
    #: and building the secondary indexes at the end.
    reading_s: float = 0.0
    read_wait_s: float = 0.0
    index_build_s: float = 0.0


@dataclass(slots=True)
class _Progress:
    reached: int = 0
    read: int = 0
    applied: int = 0


def rebuild(
    projection: Projection,
    pool: ConnectionPool,
    recorder: ApplicationRecorder,
    mapper: Mapper,  # type: ignore[type-arg]
    *,
    section_size: int = REBUILD_SECTION_SIZE,
    progress: Progress | None = None,
) -> RebuildResult:
    assert section_size >= 1
    lock_key = positions.projection_lock_key(projection.name)
    with _fewer_collections(), pool.connection(timeout=LOCK_WAIT_S) as conn:
        # Bounds the wait for the live consumer to finish its batch; without
        # it a stuck holder would keep the rebuild waiting for ever.
        conn.execute(f"SET lock_timeout = '{int(LOCK_WAIT_S * 1000)}ms'")
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock_key,))
        indexes: list[str] = []
        try:
            target = recorder.max_notification_id() or 0
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(
                    sql.SQL("TRUNCATE {}").format(
                        sql.SQL(", ").join(sql.Identifier(t) for t in projection.tables)
                    )
                )
                positions.reset(cursor, projection.name)
                indexes = _drop_secondary_indexes(cursor, projection.tables)
            # A crash loses at most the last sections' commits, with their
            # position: the rebuild is simply run again. The final commit
            # below is synchronous and flushes all of them.
            conn.execute("SET synchronous_commit = off")
            table = recorder.events_table_name  # type: ignore[attr-defined]
            with ReadAhead(pool, table, topics_of(projection), mapper, target,
                           section_size) as sections:
                done = _apply_sections(conn, projection, sections, target, progress)
            conn.execute("RESET synchronous_commit")
            started = time.perf_counter()
            create_indexes(pool, conn, indexes)
            indexes = []
            index_build_s = time.perf_counter() - started
            with conn.transaction(), conn.cursor() as cursor:
                positions.advance(cursor, projection.name, target, None)
                # Only now: the read model is whole, and of this version.
                positions.record_version(cursor, projection.name, projection.schema_version)
        finally:
            conn.execute("RESET synchronous_commit")
            if indexes:  # the rebuild failed: the read model keeps its indexes
                create_indexes(pool, conn, indexes)
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock_key,))
            conn.execute("RESET lock_timeout")
    return RebuildResult(
        projection.name, done.read, done.applied, max(target, done.reached),
        sections.reading_s, sections.waiting_s, index_build_s,
    )


def _apply_sections(
    conn: Connection[Any], projection: Projection, sections: ReadAhead, target: int,
    progress: Progress | None,
) -> _Progress:
    """Each section applied and committed with the position it reaches."""
    done = _Progress()
    for section in sections:
        envelopes = section.envelopes
        with conn.transaction(), conn.cursor() as cursor:
            if envelopes:
                projection.apply(cursor, envelopes)
            last_at = envelopes[-1].occurred_at if envelopes else None
            positions.advance(cursor, projection.name, section.end, last_at)
        done.reached = section.end
        done.read += section.rows_read
        done.applied += len(envelopes)
        if progress is not None:
            progress(done.reached, target)
    return done


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, _REBUILD_GC_GEN0_THRESHOLD), gen1, gen2)
    try:
        yield
    finally:
        gc.set_threshold(gen0, gen1, gen2)


def _drop_secondary_indexes(cursor: Cursor[Any], tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' non-unique indexes; returns how to create them again.

    Building an index once over the filled table is a sort; keeping it up to
    date row by row through a million inserts costs several times more.
    Primary keys and unique indexes stay: upserts need them.
    """
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace"
        " AND NOT i.indisunique AND NOT i.indisprimary",
        (list(tables),),
    )
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [definition for _, definition in found]


def create_indexes(pool: ConnectionPool, conn: Connection[Any], definitions: list[str]) -> None:
    """Build the indexes, half of them on a second connection meanwhile.

    Each build is one server process sorting the whole table, while the
    machine has a core to spare once the rows are in: two at a time finish
    about a quarter sooner than one after another.
    """
    if len(definitions) < 2:
        _create_each(conn, definitions)
        return
    second = definitions[1::2]
    failure: list[BaseException] = []

    def build_second() -> None:
        try:
            with pool.connection(timeout=LOCK_WAIT_S) as other:
                _create_each(other, second)
        except BaseException as error:  # raised below, in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=build_second, name="rebuild-index")
    thread.start()
    try:
        _create_each(conn, definitions[0::2])
    finally:
        thread.join()
    if failure:
        raise failure[0]


def _create_each(conn: Connection[Any], definitions: list[str]) -> None:
    for definition in definitions:
        # pg_get_indexdef gives "CREATE INDEX name ON ...": a definition
        # that PostgreSQL itself wrote, not input.
        conn.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
