"""Performance benchmarks of smsledger, each against a raw-PostgreSQL baseline.

    python -m bench.run [--runs N] [--only bulk|single|memory|concurrent] [--json PATH]
    python -m bench.run [--runs N] --only relay|lag|rebuild|events [--json PATH]

Without --only it runs bulk, single and memory. The concurrent-send
benchmark (about 5 minutes for 7 runs) runs only when named. The event-distribution
benchmarks (relay, lag, rebuild) run only when named; `--only events` runs
all three. NATS comes from NATS_URL, else an embedded JetStream is started;
every stream they create is deleted at the end.
PostgreSQL comes from DATABASE_URL, else an embedded server is started. The
run works in a fresh database `smsledger_bench_<run id>`, dropped at the end.
Prints a table, then the results as one line of JSON (or writes --json PATH).
See docs/PERFORMANCE.md for the method and the latest figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from bench.bench_bulk import run_bulk
from bench.bench_concurrent import concurrent_details, concurrent_row, run_concurrent
from bench.bench_lag import run_lag
from bench.bench_memory import run_memory
from bench.bench_rebuild import rebuild_details, rebuild_rows, run_rebuild
from bench.bench_relay import nats_server, relay_details, relay_row, run_relay
from bench.bench_single import run_single
from bench.harness import bench_database, machine_info, progress
from bench.lag_report import lag_details, lag_row

BENCHMARKS = ("bulk", "single", "memory")  # the default set
EVENT_BENCHMARKS = ("relay", "lag", "rebuild")  # only when named, or with --only events
ONLY_CHOICES = (*BENCHMARKS, "concurrent", *EVENT_BENCHMARKS, "events")
DEFAULT_RUNS = 7
MIN_RUNS = 1
MAX_RUNS = 50
TABLE_PROFILE_ROWS = 10


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS,
                        help=f"alternating runs per benchmark (default {DEFAULT_RUNS}; use >= 5)")
    parser.add_argument("--only", choices=ONLY_CHOICES,
                        help="run one benchmark; `events` runs relay, lag and rebuild")
    parser.add_argument("--json", type=Path, help="write the JSON here instead of to stdout")
    args = parser.parse_args(argv)
    if not MIN_RUNS <= args.runs <= MAX_RUNS:
        parser.error(f"--runs is {MIN_RUNS} to {MAX_RUNS}")
    return args


def run_all(selected: Sequence[str], runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {"runs_per_benchmark": runs}
    with bench_database() as db:
        results["machine"] = machine_info(db.url)
        results["database"] = db.name
        container = build(Settings.from_env({}), db.url)
        try:
            if "bulk" in selected:
                results["bulk"] = run_bulk(db, container, runs)
            if "single" in selected:
                results["single"] = run_single(db.url, container, runs)
            if "memory" in selected:
                results["memory"] = run_memory(db, container)
            if "concurrent" in selected:
                results["concurrent"] = run_concurrent(db, container, runs)
            _run_events(selected, runs, db.work_dir, container, results)
        finally:
            container.close()
    return results


def _run_events(selected: Sequence[str], runs: int, work_dir: Path, container: Container,
                results: dict[str, Any]) -> None:
    if "relay" in selected or "lag" in selected:
        with nats_server(work_dir) as nats_url:
            if "relay" in selected:
                results["relay"] = run_relay(container, nats_url, runs)
            if "lag" in selected:
                results["lag"] = run_lag(container, nats_url, runs)
    if "rebuild" in selected:
        results["rebuild"] = run_rebuild(container, runs)


# The table ------------------------------------------------------------------------


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"smsledger benchmarks, {machine['date_utc']}: {machine['nproc']} CPUs"
        f" ({machine['cpu_model']}), {machine['memory_total_mib']} MiB,"
        f" Python {machine['python']}, PostgreSQL {machine['postgresql']}"
        f" ({machine['postgresql_source']}), git {machine['git']}",
        "",
        f"{'benchmark':<16}{'target':<24}{'median measured':<20}{'median baseline':<20}"
        f"{'ratio':<9}{'runs':<6}result",
    ]
    if "bulk" in results:
        lines.append(_bulk_row(results["bulk"]))
    if "single" in results:
        lines.append(_single_row(results["single"]))
    if "memory" in results:
        lines.extend(_memory_rows(results["memory"]))
    if "concurrent" in results:
        lines.append(concurrent_row(results["concurrent"]))
    if "relay" in results:
        lines.append(relay_row(results["relay"]))
    if "lag" in results:
        lines.append(lag_row(results["lag"]))
    if "rebuild" in results:
        lines.extend(["", *rebuild_rows(results["rebuild"])])
    if "bulk" in results:
        lines.extend(_bulk_details(results["bulk"]))
    if "single" in results:
        lines.extend(_single_details(results["single"]))
    if "memory" in results:
        lines.extend(_memory_details(results["memory"]))
    if "concurrent" in results:
        lines.extend(concurrent_details(results["concurrent"]))
    if "relay" in results:
        lines.extend(relay_details(results["relay"]))
    if "lag" in results:
        lines.extend(lag_details(results["lag"]))
    if "rebuild" in results:
        lines.extend(rebuild_details(results["rebuild"]))
    return "\n".join(lines)


def _bulk_row(bulk: dict[str, Any]) -> str:
    return (
        f"{'bulk accept':<16}{bulk['target']:<24}"
        f"{bulk['measured_s']['median']:<20.4f}{bulk['baseline_s']['median']:<20.4f}"
        f"{bulk['ratio']:<9.2f}{len(bulk['runs']):<6}{_verdict(bulk['pass'])}"
    )


def _single_row(single: dict[str, Any]) -> str:
    return (
        f"{'single sends':<16}{single['target']:<24}"
        f"{single['measured_per_s']['median']:<20.1f}{single['baseline_per_s']['median']:<20.1f}"
        f"{single['ratio']:<9.2f}{len(single['runs']):<6}{_verdict(single['pass'])}"
    )


def _memory_rows(memory: dict[str, Any]) -> list[str]:
    rows = []
    for mode in memory["modes"].values():
        label = f"memory x{mode['concurrency']}"
        measured = f"peak {mode['peak_rss_mib']:.1f} MiB"
        context = f"(start {mode['rss_at_start_mib']:.1f} MiB)"
        passed = mode["peak_rss_mib"] < memory["target_max_peak_mib"]
        rows.append(
            f"{label:<16}{memory['target']:<24}{measured:<20}{context:<20}"
            f"{'-':<9}{memory['bulks']:<6}{_verdict(passed)}"
        )
    return rows


def _bulk_details(bulk: dict[str, Any]) -> list[str]:
    lines = ["", "bulk accept, seconds per run (baseline = raw COPY of 10,000 rows):"]
    for index, run in enumerate(bulk["runs"], start=1):
        lines.append(f"  {index}: baseline {run['baseline_s']:.4f}  measured "
                     f"{run['measured_s']:.4f}  ratio {run['ratio']:.2f}")
    stages = bulk["in_process"]["median_stages"]
    lines.append("in-process medians: " + ", ".join(f"{k} {v:.4f}" for k, v in stages.items()))
    lines.extend(_profile_lines(bulk["in_process"]["profile"]))
    return lines


def _single_details(single: dict[str, Any]) -> list[str]:
    lines = ["", "single sends, messages per second per run (baseline = 2-row raw transactions):"]
    for index, run in enumerate(single["runs"], start=1):
        lines.append(f"  {index}: baseline {run['baseline_per_s']:.1f}  measured "
                     f"{run['measured_per_s']:.1f}  ratio {run['ratio']:.2f}")
    lines.extend(_profile_lines(single["profile"]))
    return lines


def _memory_details(memory: dict[str, Any]) -> list[str]:
    lines = ["", f"memory, a fresh API process per mode, {memory['bulks']} bulks each:"]
    for name, mode in memory["modes"].items():
        requests = " ".join(f"{s:.3f}" for s in mode["request_s"])
        lines.append(
            f"  {name}: RSS start {mode['rss_at_start_mib']:.1f} MiB, end "
            f"{mode['rss_at_end_mib']:.1f} MiB, peak (VmHWM) {mode['peak_rss_mib']:.1f} MiB;"
            f" wall {mode['wall_s']:.2f} s; request seconds {requests}"
        )
    return lines


def _profile_lines(profile: dict[str, Any]) -> list[str]:
    lines = [f"profile ({profile['scope']}; {profile['total_s']:.3f} s under cProfile),"
             " top by cumulative time:"]
    lines.append(f"  {'ncalls':>8} {'tottime':>8} {'cumtime':>8}  function")
    for entry in profile["top_cumulative"][:TABLE_PROFILE_ROWS]:
        lines.append(f"  {entry['ncalls']:>8} {entry['tottime_s']:>8.3f} "
                     f"{entry['cumtime_s']:>8.3f}  {entry['function']}")
    lines.append("top by own time:")
    for entry in profile["top_tottime"][:TABLE_PROFILE_ROWS]:
        lines.append(f"  {entry['ncalls']:>8} {entry['tottime_s']:>8.3f} "
                     f"{entry['cumtime_s']:>8.3f}  {entry['function']}")
    return lines


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """Turn SIGTERM into SystemExit, so that every `finally` runs: the API
    subprocess is stopped and the database dropped."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.only == "events":
        selected: tuple[str, ...] = EVENT_BENCHMARKS
    else:
        selected = (args.only,) if args.only else BENCHMARKS
    results = run_all(selected, args.runs)
    print(render(results), flush=True)
    encoded = json.dumps(results, separators=(",", ":"))
    if args.json:
        args.json.write_text(encoded + "\n", encoding="utf-8")
        progress(f"JSON written to {args.json}")
    else:
        print(encoded, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
