"""Rebuild a projection straight from the event store, not from NATS.

The rebuild holds the projection's advisory lock on its own connection, so
the live consumer's batches are turned away (and redelivered) while it runs.
It empties the projection's tables, applies every event up to the log's
current end in large sections, each committed with the position, then lets
go: the live consumer resumes, skips what the rebuild covered and applies the
rest. No gap, no double count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg import sql
from psycopg_pool import ConnectionPool

from adapters.eventstore.envelopes import envelopes_of
from adapters.projector import positions
from adapters.projector.status import topics_of
from projections.base import Projection

REBUILD_SECTION_SIZE = 5000
LOCK_WAIT_S = 30.0

Progress = Callable[[int, int], None]  # (position reached, target position)


@dataclass(frozen=True, slots=True)
class RebuildResult:
    projection: str
    events_read: int
    envelopes_applied: int
    position: int


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
    wanted_topics = set(topics_of(projection))
    with pool.connection(timeout=LOCK_WAIT_S) as conn:
        # Bounds the wait for the live consumer to finish its batch; without
        # it a stuck holder would keep the rebuild waiting for ever.
        conn.execute(f"SET lock_timeout = '{int(LOCK_WAIT_S * 1000)}ms'")
        conn.execute(
            "SELECT pg_advisory_lock(hashtext(%s))",
            (positions.projection_lock_key(projection.name),),
        )
        try:
            target = recorder.max_notification_id() or 0
            with conn.transaction(), conn.cursor() as cursor:
                cursor.execute(
                    sql.SQL("TRUNCATE {}").format(
                        sql.SQL(", ").join(sql.Identifier(t) for t in projection.tables)
                    )
                )
                positions.reset(cursor, projection.name)
            reached, read, applied = 0, 0, 0
            while reached < target:
                section = recorder.select_notifications(
                    reached + 1, section_size, stop=target
                )
                if not section:
                    break
                # Only the events this projection reads are decoded at all.
                envelopes = envelopes_of(mapper, [n for n in section if n.topic in wanted_topics])
                with conn.transaction(), conn.cursor() as cursor:
                    if envelopes:
                        projection.apply(cursor, envelopes)
                    last_at = envelopes[-1].occurred_at if envelopes else None
                    positions.advance(cursor, projection.name, section[-1].id, last_at)
                reached = section[-1].id
                read += len(section)
                applied += len(envelopes)
                if progress is not None:
                    progress(reached, target)
            with conn.transaction(), conn.cursor() as cursor:
                positions.advance(cursor, projection.name, target, None)
        finally:
            conn.execute(
                "SELECT pg_advisory_unlock(hashtext(%s))",
                (positions.projection_lock_key(projection.name),),
            )
            conn.execute("RESET lock_timeout")
    return RebuildResult(projection.name, read, applied, max(target, reached))
