"""Each projection's position and how far behind the log it is.

Lag counts only the events the projection reads; its age in seconds is that
of the oldest such event not yet applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg import Connection, sql
from psycopg_pool import ConnectionPool

from application.ledger.topics import stored_topics
from domain.published import CONTRACTS
from projections.base import Projection

# Counting the exact lag on a huge table is itself slow; it stops counting here.
LAG_COUNT_CAP = 1_000_000


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    name: str
    position: int
    lag_events: int
    lag_s: float
    dead_letters: int


def topics_of(projection: Projection) -> list[str]:
    """Every stored topic of the projection's events, including the ones their
    classes had before they moved: rows keep the topic they were written under."""
    return sorted(
        topic
        for cls, contract in CONTRACTS.items()
        if contract.type in projection.event_types
        for topic in stored_topics(cls)
    )


def statuses(
    projections: tuple[Projection, ...],
    pool: ConnectionPool,
    recorder: ApplicationRecorder,
    mapper: Mapper,  # type: ignore[type-arg]
    events_table: str,
) -> list[ProjectionStatus]:
    result = []
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT name, position FROM projection_positions WHERE name = ANY(%s)",
            ([p.name for p in projections],),
        ).fetchall()
        positions = {name: int(position) for name, position in rows}
        topics = {p.name: topics_of(p) for p in projections}
        behind = _lag_events(conn, events_table, projections, positions, topics)
        dead: dict[str, int] = dict(conn.execute(
            "SELECT projection, count(*) FROM projection_dead_letters"
            " WHERE projection = ANY(%s) GROUP BY projection",
            ([p.name for p in projections],),
        ).fetchall())
    for projection in projections:
        position = positions.get(projection.name, 0)
        lag_events = behind.get(projection.name, 0)
        lag_s = 0.0
        if lag_events:
            oldest = _oldest_unapplied_at(recorder, mapper, position, topics[projection.name])
            if oldest is not None:
                lag_s = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        result.append(ProjectionStatus(
            projection.name, position, lag_events, lag_s, int(dead.get(projection.name, 0))))
    return result


def _lag_events(
    conn: Connection[Any], events_table: str, projections: tuple[Projection, ...],
    positions: dict[str, int], topics: dict[str, list[str]],
) -> dict[str, int]:
    """Events each projection has yet to apply, counted in one scan of the
    log above the slowest position (at most LAG_COUNT_CAP events of it).

    One count per projection scanned the same tail six times: sampling the
    status every 100 ms through a burst of bulks about doubled the CPU
    PostgreSQL spent on the whole pipeline.
    """
    if not projections:
        return {}
    lowest = min(positions.get(p.name, 0) for p in projections)
    counts = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE notification_id > {} AND topic = ANY({}))").format(
            sql.Literal(positions.get(p.name, 0)), sql.Literal(topics[p.name]))
        for p in projections
    )
    query = sql.SQL(
        "SELECT {} FROM (SELECT notification_id, topic FROM {} WHERE notification_id > %s"
        " ORDER BY notification_id LIMIT %s) AS tail"
    ).format(counts, sql.Identifier(events_table))
    row = conn.execute(query, (lowest, LAG_COUNT_CAP)).fetchone()
    assert row is not None  # an aggregate always returns a row
    return {p.name: int(n) for p, n in zip(projections, row, strict=True)}


def _oldest_unapplied_at(
    recorder: ApplicationRecorder, mapper: Mapper,  # type: ignore[type-arg]
    position: int, topics: list[str],
) -> datetime | None:
    found = recorder.select_notifications(position + 1, 1, topics=topics)
    if not found:
        return None
    timestamp: datetime = mapper.to_domain_event(found[0]).timestamp  # type: ignore[attr-defined]
    return timestamp
