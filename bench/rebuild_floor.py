"""The floor for the message log's rebuild: the least work that rebuilds it.

The same keyset scan as the baseline, and for every stored acceptance its
row, built from a struct of the stored fields (`lag_floor.row_of`) and sent by
binary COPY into a table of rm_message_log's columns without indexes; then
rm_message_log's indexes, primary key included, built two at a time as the
rebuild builds them. No envelopes, no projection code, no positions. What
this costs against the bare scan bounds what any rebuild of this read model
can reach on this machine.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from adapters.projector.rebuild import create_indexes
from bench.lag_floor import COPY_COLUMNS, COPY_TYPES, row_of

FLOOR_TABLE = "bench_floor_message_log"
SOURCE_TABLE = "rm_message_log"
INDEX_BUILDERS = 2  # connections create_indexes uses: the rebuild's own and one more


def rebuild_floor(database_url: str, events_table: str, topic: str,
                  section: int) -> dict[str, float]:
    """Seconds to load the rows and to index them, and their total."""
    with psycopg.connect(database_url) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {floor}; CREATE TABLE {floor}"
                             " (LIKE {source} INCLUDING DEFAULTS)").format(
            floor=sql.Identifier(FLOOR_TABLE), source=sql.Identifier(SOURCE_TABLE)))
        conn.commit()
        started = time.perf_counter()
        _load(conn, events_table, topic, section)
        loaded = time.perf_counter()
        definitions = _index_definitions(conn)
        with ConnectionPool(database_url, min_size=1, max_size=INDEX_BUILDERS,
                            kwargs={"autocommit": True}) as pool, pool.connection() as builder:
            create_indexes(pool, builder, definitions)
        finished = time.perf_counter()
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(FLOOR_TABLE)))
        conn.commit()
    return {"load_s": loaded - started, "index_s": finished - loaded,
            "seconds": finished - started}


def _load(conn: psycopg.Connection[Any], events_table: str, topic: str,
          section: int) -> None:
    statement = sql.SQL(
        "SELECT originator_id, originator_version, topic, state, notification_id FROM {}"
        " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(events_table))
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(FLOOR_TABLE), sql.SQL(COPY_COLUMNS))
    last = 0
    with conn.cursor(binary=True) as cursor:
        while True:
            fetched = cursor.execute(statement, (last, section), prepare=True).fetchall()
            if not fetched:
                break
            with cursor.copy(copy_sql) as copy:
                copy.set_types(COPY_TYPES)
                for message_id, _version, stored_topic, state, notification_id in fetched:
                    if stored_topic == topic:
                        copy.write_row(row_of(notification_id, message_id, state))
            conn.commit()
            last = fetched[-1][4]


def _index_definitions(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
                        (SOURCE_TABLE,)).fetchall()
    conn.commit()
    if not rows:
        raise RuntimeError(f"{SOURCE_TABLE} has no indexes to copy")
    definitions = [
        definition.replace(f" ON public.{SOURCE_TABLE} ", f" ON public.{FLOOR_TABLE} ", 1)
        .replace(name, f"floor_{name}", 1)
        for name, definition in rows
    ]
    for definition in definitions:  # never an index on the real table by mistake
        if f" ON public.{FLOOR_TABLE} " not in definition:
            raise RuntimeError(f"cannot point this index at {FLOOR_TABLE}: {definition}")
    return definitions
