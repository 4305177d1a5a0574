"""Benchmark 3: peak RSS of the API process while it accepts five 10k bulks.

Each mode gets a fresh `smsledger api` subprocess, so its high-water mark
(VmHWM in /proc/<pid>/status) covers that mode alone: first the bulks one
after another, then two at a time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from adapters.bootstrap.container import Container
from bench.harness import (
    BULK_SIZE,
    BenchAccount,
    BenchDatabase,
    bulk_request_body,
    create_account,
    new_client,
    post_bulk,
    progress,
)
from tests.support.api_process import ApiProcess

BULKS = 5
TARGET_MAX_PEAK_MIB = 300.0
MODES = (("sequential", 1), ("two_concurrent", 2))
MODE_TIMEOUT_S = 600.0


def run_memory(db: BenchDatabase, container: Container) -> dict[str, Any]:
    account = create_account(container, "Bench memory")
    body = bulk_request_body()
    modes: dict[str, Any] = {}
    for name, concurrency in MODES:
        progress(f"memory: {BULKS} bulks of {BULK_SIZE:,}, {concurrency} at a time")
        modes[name] = measure_mode(db, account, body, concurrency)
    peak = max(mode["peak_rss_mib"] for mode in modes.values())
    return {
        "target": f"peak RSS < {TARGET_MAX_PEAK_MIB:.0f} MiB",
        "target_max_peak_mib": TARGET_MAX_PEAK_MIB,
        "bulks": BULKS,
        "recipients_per_bulk": BULK_SIZE,
        "modes": modes,
        "peak_rss_mib": peak,
        "pass": peak < TARGET_MAX_PEAK_MIB,
    }


def measure_mode(
    db: BenchDatabase, account: BenchAccount, body: bytes, concurrency: int
) -> dict[str, Any]:
    log_path = db.work_dir / f"api-memory-{concurrency}.log"
    with ApiProcess(db.url, log_path) as api:
        start_kib = api.status_kib("VmRSS")
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = [pool.submit(_one_bulk, api, body, account) for _ in range(BULKS)]
            latencies = [future.result(timeout=MODE_TIMEOUT_S) for future in futures]
        wall_s = time.perf_counter() - started
        end_kib = api.status_kib("VmRSS")
        peak_kib = api.status_kib("VmHWM")
    return {
        "concurrency": concurrency,
        "rss_at_start_mib": start_kib / 1024,
        "rss_at_end_mib": end_kib / 1024,
        "peak_rss_mib": peak_kib / 1024,
        "wall_s": wall_s,
        "request_s": latencies,
    }


def _one_bulk(api: ApiProcess, body: bytes, account: BenchAccount) -> float:
    with new_client(api) as client:
        return post_bulk(client, body, account)
