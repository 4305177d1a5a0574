"""Each projection's position and how far behind the log it is.

Lag counts only the events the projection reads; its age in seconds is that
of the oldest such event not yet applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg_pool import ConnectionPool

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
    return sorted(
        f"{cls.__module__}:{cls.__qualname__}"
        for cls, contract in CONTRACTS.items()
        if contract.type in projection.event_types
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
        for projection in projections:
            row = conn.execute(
                "SELECT position FROM projection_positions WHERE name = %s", (projection.name,)
            ).fetchone()
            position = int(row[0]) if row else 0
            topics = topics_of(projection)
            lag_row = conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {events_table}"  # our own table name
                " WHERE notification_id > %s AND topic = ANY(%s) LIMIT %s) AS behind",
                (position, topics, LAG_COUNT_CAP),
            ).fetchone()
            lag_events = int(lag_row[0]) if lag_row else 0
            dead = conn.execute(
                "SELECT count(*) FROM projection_dead_letters WHERE projection = %s",
                (projection.name,),
            ).fetchone()
            lag_s = 0.0
            if lag_events:
                oldest = _oldest_unapplied_at(recorder, mapper, position, topics)
                if oldest is not None:
                    lag_s = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
            result.append(ProjectionStatus(
                projection.name, position, lag_events, lag_s, int(dead[0]) if dead else 0))
    return result


def _oldest_unapplied_at(
    recorder: ApplicationRecorder, mapper: Mapper,  # type: ignore[type-arg]
    position: int, topics: list[str],
) -> datetime | None:
    found = recorder.select_notifications(position + 1, 1, topics=topics)
    if not found:
        return None
    timestamp: datetime = mapper.to_domain_event(found[0]).timestamp  # type: ignore[attr-defined]
    return timestamp
