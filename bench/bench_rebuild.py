"""Benchmark 6: rebuilding each read model from a store of 1,000,000 events.

Measured: `rebuild()` of each projection (which empties its tables and
brings them from the start of the log to its end, in sections of 5,000
notification ids), the store's events per second: every rebuild covers
the whole log (checked: its position ends at the log's head), though the
server sends it only the events of its own topics. Baseline: a raw psycopg
keyset scan of ALL events of the same table, the same columns and sections
of 5,000 rows (`WHERE notification_id > %s ORDER BY notification_id LIMIT
5000`), every row fetched. Each rebuild is preceded by its own baseline
scan, so the two alternate. "all" is every projection's rebuild of one run,
one after another: the store's events over their summed seconds, against
the median of all scans. The message log's rebuild also has a floor, timed
right after it in each run (rebuild_floor.py).
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.utils import get_topic
from psycopg import sql

from adapters.bootstrap.container import Container
from adapters.projector.rebuild import REBUILD_SECTION_SIZE, rebuild
from bench.bench_bulk import profile_top
from bench.bench_relay import bulk_command, head_of, profile_lines
from bench.harness import BULK_SIZE, create_account, progress, summary
from bench.rebuild_floor import rebuild_floor
from domain.message import Message
from projections.base import Projection
from projections.registry import ALL_PROJECTIONS, by_name

TARGET_MIN_RATIO = 0.5
TARGET_EVENTS = 1_000_000
FILL_BUDGET_S = 180.0
# The timed runs stop early, and say so, once a further run would end past this.
RUNS_BUDGET_S = 2400.0
PROFILED_PROJECTION = "message_log"
FLOORED_PROJECTION = "message_log"  # the one with a floor (rebuild_floor.py)
PROFILED_SECTION = 100  # the section after this many progress reports
ALL = "all"


class _TimedProjection:
    """Delegates to `projection`, summing the wall time of its `apply`."""

    def __init__(self, projection: Projection) -> None:
        self._projection = projection
        self.apply_s = 0.0
        self.name, self.tables = projection.name, projection.tables
        self.event_types = projection.event_types
        self.schema_version = projection.schema_version

    def ddl(self) -> str:
        return self._projection.ddl()

    def apply(self, cursor: Any, envelopes: Sequence[Any]) -> None:
        started = time.perf_counter()
        try:
            self._projection.apply(cursor, envelopes)
        finally:
            self.apply_s += time.perf_counter() - started


# The store ---------------------------------------------------------------------------


def fill_to(container: Container, target: int) -> dict[str, Any]:
    """Bulks of 10,000 until the log holds `target` events, the last one cut
    to land on it exactly; stops early past FILL_BUDGET_S and says so."""
    account = create_account(container, "Bench rebuild")
    command = bulk_command(account.account_id)
    started, bulks, per_bulk = time.perf_counter(), 0, BULK_SIZE
    head = head_of(container)
    while head < target and time.perf_counter() - started < FILL_BUDGET_S:
        remaining = target - head
        before = head
        if remaining >= per_bulk:
            container.messaging.send_bulk(command)
        elif remaining > per_bulk - BULK_SIZE:
            container.messaging.send_bulk(bulk_command(
                account.account_id, remaining - (per_bulk - BULK_SIZE)))
        else:
            break
        head = head_of(container)
        per_bulk = head - before if remaining >= per_bulk else per_bulk
        bulks += 1
        if bulks % 20 == 0:
            progress(f"  {bulks} bulks, log head {head:,}")
    return {"bulks": bulks, "seconds": time.perf_counter() - started, "head": head,
            "events_per_full_bulk": per_bulk, "capped": head < target}


def count_events(container: Container) -> int:
    table = container.app.recorder.events_table_name  # type: ignore[attr-defined]
    with container.pool.connection() as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


# The two sides -------------------------------------------------------------------------


def scan(conn: psycopg.Connection[Any], table: str,
         section: int = REBUILD_SECTION_SIZE) -> tuple[int, float]:
    """Rows and seconds of a keyset scan of the whole events table."""
    statement = sql.SQL(
        "SELECT originator_id, originator_version, topic, state, notification_id FROM {}"
        " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(table))
    rows, last = 0, 0
    started = time.perf_counter()
    while True:
        fetched = conn.execute(statement, (last, section), prepare=True).fetchall()
        if not fetched:
            break
        rows += len(fetched)
        last = fetched[-1][4]
    return rows, time.perf_counter() - started


def timed_rebuild(container: Container, projection: Projection, events: int) -> dict[str, Any]:
    """One rebuild of the whole log of `events`, with where its time went."""
    timed_projection = _TimedProjection(projection)
    head = head_of(container)
    started = time.perf_counter()
    result = rebuild(timed_projection, container.pool,
                     container.app.recorder, container.app.mapper)
    seconds = time.perf_counter() - started
    if result.position != head:
        raise RuntimeError(f"{projection.name} reached {result.position}, not {head}")
    return {
        "position": result.position,
        "rows_read": result.events_read,
        "applied": result.envelopes_applied,
        "seconds": seconds,
        "per_s": events / seconds,
        "apply_s": timed_projection.apply_s,
        "read_wait_s": result.read_wait_s,
        "reading_s": result.reading_s,
        "index_build_s": result.index_build_s,
    }


# The benchmark ----------------------------------------------------------------------


def run_rebuild(container: Container, runs: int) -> dict[str, Any]:
    progress(f"rebuild: filling the store to {TARGET_EVENTS:,} events")
    fill = fill_to(container, TARGET_EVENTS)
    events = count_events(container)
    progress(f"rebuild: {fill['bulks']} bulks in {fill['seconds']:.1f} s; {events:,} events"
             + (" (fill budget hit: FEWER than the target)" if fill["capped"] else ""))
    table = container.app.recorder.events_table_name  # type: ignore[attr-defined]
    names = [p.name for p in ALL_PROJECTIONS]
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        scan(conn, table)  # warm-up: connection, prepared statement, page cache
        for index in range(runs):
            run_started = time.perf_counter()
            record: dict[str, Any] = {}
            for projection in ALL_PROJECTIONS:
                rows, scan_s = scan(conn, table)
                rebuilt = timed_rebuild(container, projection, events)
                if rows != events:
                    raise RuntimeError(f"scanned {rows}, not {events}")
                record[projection.name] = {"baseline_per_s": rows / scan_s, **rebuilt}
                if projection.name == FLOORED_PROJECTION:
                    floor = rebuild_floor(container.database_url, table,
                                          get_topic(Message.Accepted), REBUILD_SECTION_SIZE)
                    record[projection.name]["floor"] = {**floor,
                                                        "per_s": events / floor["seconds"]}
            records.append(record)
            _report_run(index, runs, record)
            run_s, elapsed = time.perf_counter() - run_started, time.perf_counter() - started
            if index + 1 < runs and elapsed + run_s > RUNS_BUDGET_S:
                progress(f"rebuild: stopping after {index + 1} runs (time budget)")
                break
    progress("rebuild: profile of one section")
    profile = profile_section(container, by_name(PROFILED_PROJECTION))
    return _result(records, names, events, fill, runs, profile)


def _report_run(index: int, runs: int, record: dict[str, Any]) -> None:
    parts = [f"{name} {r['per_s']:,.0f}/s (scan {r['baseline_per_s']:,.0f}/s)"
             for name, r in record.items()]
    progress(f"  run {index + 1}/{runs}: " + ", ".join(parts))


def _result(records: list[dict[str, Any]], names: Sequence[str], events: int,
            fill: dict[str, Any], requested: int, profile: dict[str, Any]) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for name in names:
        measured = [r[name]["per_s"] for r in records]
        baseline = [r[name]["baseline_per_s"] for r in records]
        ratio = statistics.median(measured) / statistics.median(baseline)
        per[name] = {
            "measured_per_s": summary(measured), "baseline_per_s": summary(baseline),
            "ratio": ratio, "pass": ratio >= TARGET_MIN_RATIO,
            "median_seconds": statistics.median(r[name]["seconds"] for r in records),
            **{f"median_{key}": statistics.median(r[name][key] for r in records)
               for key in ("apply_s", "read_wait_s", "index_build_s", "reading_s")},
            "rows_read": records[0][name]["rows_read"],
            "applied": records[0][name]["applied"],
        }
    floors = [r[FLOORED_PROJECTION]["floor"]["per_s"] for r in records]
    floor_scans = [r[FLOORED_PROJECTION]["baseline_per_s"] for r in records]
    per[FLOORED_PROJECTION]["floor"] = {
        "per_s": summary(floors),
        "ratio": statistics.median(floors) / statistics.median(floor_scans),
        **{f"median_{key}": statistics.median(r[FLOORED_PROJECTION]["floor"][key]
                                              for r in records)
           for key in ("load_s", "index_s", "seconds")},
    }
    in_sequence = [events / sum(r[name]["seconds"] for name in names) for r in records]
    scans = [r[name]["baseline_per_s"] for r in records for name in names]
    ratio = statistics.median(in_sequence) / statistics.median(scans)
    per[ALL] = {"measured_per_s": summary(in_sequence), "baseline_per_s": summary(scans),
                "ratio": ratio, "pass": ratio >= TARGET_MIN_RATIO,
                "median_seconds": statistics.median(events / rate for rate in in_sequence)}
    return {
        "target": f"ratio of rates >= {TARGET_MIN_RATIO}x",
        "target_min_ratio": TARGET_MIN_RATIO,
        "events": events,
        "fill": fill,
        "section_size": REBUILD_SECTION_SIZE,
        "projection_names": list(names),
        "runs_requested": requested,
        "runs_done": len(records),
        "projections": per,
        "runs": records,
        "pass": all(p["pass"] for p in per.values()),
        "profile": profile,
    }


# Where the time goes --------------------------------------------------------------------


def profile_section(container: Container, projection: Projection) -> dict[str, Any]:
    """A rebuild with cProfile on for exactly one section: from one progress
    report to the next, in the rebuild's own thread (waiting for the section,
    apply, position, commit). The read-ahead thread, which reads and decodes
    meanwhile, is not profiled."""
    profiler = cProfile.Profile()
    reports = 0

    def on_progress(_reached: int, _target: int) -> None:
        nonlocal reports
        reports += 1
        if reports == PROFILED_SECTION:
            profiler.enable()
        elif reports == PROFILED_SECTION + 1:
            profiler.disable()

    try:
        rebuild(projection, container.pool, container.app.recorder, container.app.mapper,
                progress=on_progress)
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    return {
        "scope": f"rebuild of {projection.name}, section {PROFILED_SECTION + 1}"
                 f" ({REBUILD_SECTION_SIZE:,} notification ids), the rebuild's thread only",
        "total_s": stats.total_tt,  # type: ignore[attr-defined]
        "top_cumulative": profile_top(stats, "cumulative", 14),
        "top_tottime": profile_top(stats, "tottime", 14),
    }


# The table ---------------------------------------------------------------------------


def rebuild_rows(result: dict[str, Any]) -> list[str]:
    """Their own sub-table: the projections' names do not fit the main one."""
    rows = [f"rebuild, events/s ({result['target']}):",
            f"  {'projection':<22}{'median rebuild':<18}{'median scan':<18}"
            f"{'ratio':<9}{'runs':<6}result"]
    for name, figures in result["projections"].items():
        verdict = "PASS" if figures["pass"] else "FAIL"
        label = f"all {len(result['projection_names'])} in sequence" if name == ALL else name
        rows.append(
            f"  {label:<22}{figures['measured_per_s']['median']:<18,.0f}"
            f"{figures['baseline_per_s']['median']:<18,.0f}"
            f"{figures['ratio']:<9.2f}{result['runs_done']:<6}{verdict}"
        )
    return rows


def rebuild_details(result: dict[str, Any]) -> list[str]:
    fill = result["fill"]
    lines = ["", f"rebuild of {result['events']:,} events ({fill['bulks']} bulks filled in"
             f" {fill['seconds']:.1f} s{', CAPPED by the fill budget' if fill['capped'] else ''});"
             f" {result['runs_done']} of {result['runs_requested']} runs; events/s per run"
             " (baseline = raw keyset scan just before):"]
    for index, run in enumerate(result["runs"], start=1):
        lines.append(f"  {index}: " + "  ".join(
            f"{name} {r['per_s']:,.0f} / {r['baseline_per_s']:,.0f}" for name, r in run.items()))
    lines.append("median seconds per rebuild: total = projection.apply + waiting for the"
                 " next section + building indexes + the rest (truncate, positions, commits);"
                 " then, overlapped, the read-ahead thread's reading and decoding:")
    for name, figures in result["projections"].items():
        if name == ALL:
            continue
        parts = [figures[f"median_{key}"] for key in ("apply_s", "read_wait_s", "index_build_s")]
        rest = figures["median_seconds"] - sum(parts)
        lines.append(f"  {name:<22}{figures['median_seconds']:>8.2f} ="
                     + "".join(f"{part:>8.2f}" for part in parts) + f"{rest:>8.2f}"
                     f"   ({figures['median_reading_s']:.2f} reading;"
                     f" {figures['rows_read']:,} rows read, {figures['applied']:,} applied)")
    floor = result["projections"][FLOORED_PROJECTION]["floor"]
    lines.append(f"floor for {FLOORED_PROJECTION} (rebuild_floor.py: scan, COPY of its rows,"
                 f" its indexes): median {floor['per_s']['median']:,.0f} events/s,"
                 f" {floor['ratio']:.2f}x the scan; {floor['median_seconds']:.2f} s ="
                 f" {floor['median_load_s']:.2f} s loading + {floor['median_index_s']:.2f} s"
                 " indexing")
    lines.extend(profile_lines(result["profile"]))
    return lines
