"""Read models written by another version of their projection, and their rebuild.

Each projection declares a schema version; its tracking row records the
version that wrote its rows. `smsledger migrate` compares the two and
drops, creates again from its DDL and rebuilds from the event store each
read model whose recorded version differs (or whose last rebuild did not
finish). Adding a column is then: change the projection's CREATE TABLE and
`apply`, bump its `schema_version`, run migrate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from psycopg import Connection, sql
from psycopg_pool import ConnectionPool

from adapters.projector import positions
from adapters.projector.rebuild import LOCK_WAIT_S, Progress, RebuildResult, rebuild
from projections.base import Projection

log = logging.getLogger(__name__)

ProgressFor = Callable[[Projection], Progress | None]


@dataclass(frozen=True, slots=True)
class Outdated:
    projection: Projection
    #: The version that wrote its rows; None when no rebuild completed.
    recorded: int | None


@dataclass(frozen=True, slots=True)
class Upgraded:
    result: RebuildResult
    recorded: int | None
    declared: int


def outdated(conn: Connection[Any], projections: Sequence[Projection]) -> list[Outdated]:
    """The read models another version wrote. One that has applied nothing
    yet (a fresh database, a new projection) is only stamped with its
    declared version: there is nothing to rebuild."""
    names = [p.name for p in projections]
    declared = [p.schema_version for p in projections]
    with conn.transaction():
        conn.execute(
            "INSERT INTO projection_positions (name, position, schema_version)"
            " SELECT * FROM unnest(%s::text[], %s::bigint[], %s::integer[])"
            " ON CONFLICT (name) DO UPDATE SET schema_version = EXCLUDED.schema_version"
            " WHERE projection_positions.position = 0",
            (names, [0] * len(names), declared),
        )
        rows = conn.execute(
            "SELECT name, schema_version FROM projection_positions WHERE name = ANY(%s)",
            (names,),
        ).fetchall()
    recorded: dict[str, int | None] = {str(name): version for name, version in rows}
    return [
        Outdated(p, recorded[p.name]) for p in projections if recorded[p.name] != p.schema_version
    ]


def upgrade(
    projections: Sequence[Projection],
    pool: ConnectionPool,
    recorder: ApplicationRecorder,
    mapper: Mapper,  # type: ignore[type-arg]
    progress_for: ProgressFor | None = None,
) -> list[Upgraded]:
    """Rebuild every outdated read model; each records its version once whole."""
    with pool.connection() as conn:
        stale = outdated(conn, projections)
    upgraded = []
    for entry in stale:
        projection = entry.projection
        log.info(
            "rebuilding projection %s: schema version %s -> %s",
            projection.name,
            entry.recorded,
            projection.schema_version,
        )
        progress = progress_for(projection) if progress_for is not None else None
        with pool.connection(timeout=LOCK_WAIT_S) as conn:
            recreate(conn, projection)
        result = rebuild(projection, pool, recorder, mapper, progress=progress)
        upgraded.append(Upgraded(result, entry.recorded, projection.schema_version))
    return upgraded


def recreate(conn: Connection[Any], projection: Projection) -> None:
    """Drop the read model's tables and create them from the current DDL,
    with no version recorded: live consumers of any version wait until the
    rebuild that follows has finished."""
    with conn.transaction():
        # Waits for the live consumer's batch in flight, if any.
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            (positions.projection_lock_key(projection.name),),
        )
        with conn.cursor() as cursor:
            positions.reset(cursor, projection.name)
        conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(
                sql.SQL(", ").join(sql.Identifier(table) for table in projection.tables)
            )
        )
        conn.execute(projection.ddl().encode())
