"""Benchmarks of issue 7: ledger verify over 1,000,000 wallet events, and the
usage export of 1,000,000 rows.

    python -m bench.bench_billing [--runs N] [--events N] [--rows N]

Ledger verify. The store is filled with `--events` wallet events (1,000
wallets of 1,000 events each: an opening, a top-up, then reservations and
settlements that capture and release), built by the real Wallet aggregate
(postings, hash chain) and saved through the product's recorder with COPY.
Measured: `LedgerVerifier.verify()`, events per second. Baseline: a raw
psycopg scan of the same rows in the same order, wallet by wallet
(`SELECT originator_version, topic, state ... WHERE originator_id = %s ORDER
BY originator_version`, every row fetched): the least a verifier must read.
The two alternate; medians of `--runs`.

Usage export. `--rows` rows of one account are copied into the message log
read model; the real API (`smsledger api`, a subprocess) streams
GET /v1/billing/usage/export to a client that counts the lines. Measured:
rows per second and the server's peak RSS (VmHWM) before and after each
export. Baseline: the same SELECT streamed with COPY TO STDOUT straight
from psycopg in this process. Alternating, medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from bench.harness import bench_database, machine_info, progress, summary
from domain.settlement import SettlementItem
from domain.wallet import TopUpSource, Wallet
from projections.usage_export import usage_csv
from tests.support.api_process import ApiProcess
from tests.support.message_log_fill import fill_message_log

EVENTS_PER_WALLET = 1_000
INSERT_BATCH_EVENTS = 50_000
DEFAULT_EVENTS = 1_000_000
DEFAULT_ROWS = 1_000_000
DEFAULT_RUNS = 5
EXPORT_START = datetime(2026, 1, 1, tzinfo=UTC)


def wallet_events(account_id: str) -> Wallet:
    """One wallet with EVENTS_PER_WALLET events pending: open, top up, then
    pairs of reserve and settle (one capture, one release per pair)."""
    wallet = Wallet.open(uuid4(), account_id, "GBP")
    wallet.top_up(10**12, TopUpSource.STRIPE, f"cs_bench_{account_id}")
    pair = 0
    while wallet.version + 2 <= EVENTS_PER_WALLET:
        reservation = f"r{pair}"
        wallet.reserve(reservation, 69_600, f"batch:{pair}")
        wallet.settle([SettlementItem(reservation, UUID(int=pair * 2 + 1), 34_800, 0),
                       SettlementItem(reservation, UUID(int=pair * 2 + 2), 0, 34_800)])
        pair += 1
    return wallet


def fill_wallets(container: Container, events: int) -> list[UUID]:
    started, wallet_ids, pending = time.perf_counter(), [], []
    mapper, recorder = container.app.mapper, container.app.recorder
    for index in range(events // EVENTS_PER_WALLET):
        wallet = wallet_events(f"bench-{index:05d}")
        wallet_ids.append(wallet.id)
        pending += [mapper.to_stored_event(e) for e in wallet.collect_events()]
        if len(pending) >= INSERT_BATCH_EVENTS:
            recorder.insert_events(pending)
            pending = []
            progress(f"{len(wallet_ids) * EVENTS_PER_WALLET:,} wallet events stored")
    if pending:
        recorder.insert_events(pending)
    progress(f"filled {len(wallet_ids):,} wallets in {time.perf_counter() - started:.0f} s")
    return wallet_ids


def raw_scan(database_url: str, table: str, wallet_ids: list[UUID]) -> tuple[int, float]:
    query = (f"SELECT originator_version, topic, state FROM {table}"
             " WHERE originator_id = %s ORDER BY originator_version")
    rows = 0
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for wallet_id in wallet_ids:
                rows += len(cursor.execute(query, (wallet_id,)).fetchall())
        return rows, time.perf_counter() - started


def run_verify(db_url: str, container: Container, events: int, runs: int) -> dict[str, Any]:
    wallet_ids = fill_wallets(container, events)
    table = container.app.recorder.events_table_name  # type: ignore[attr-defined]
    measured, baseline = [], []
    for run in range(runs):
        rows, seconds = raw_scan(db_url, table, wallet_ids)
        baseline.append(rows / seconds)
        started = time.perf_counter()
        report = container.verifier.verify()
        elapsed = time.perf_counter() - started
        assert report.ok, report.problems[:5]
        measured.append(report.events / elapsed)
        progress(f"verify run {run + 1}: {report.events:,} events in {elapsed:.1f} s "
                 f"({measured[-1]:,.0f}/s); raw scan {rows:,} rows in {seconds:.1f} s")
    return {"events": report.events, "wallets": report.wallets,
            "verify_events_per_s": summary(measured), "scan_rows_per_s": summary(baseline),
            "ratio": statistics.median(measured) / statistics.median(baseline)}


def stream_export(api: ApiProcess, headers: dict[str, str]) -> tuple[int, int, float]:
    lines = received = 0
    started = time.perf_counter()
    with httpx.stream("GET", f"{api.base_url}/v1/billing/usage/export", headers=headers,
                      timeout=600) as response:
        assert response.status_code == 200, response.read()
        for block in response.iter_bytes():
            received += len(block)
            lines += block.count(b"\n")
    return lines - 1, received, time.perf_counter() - started


def raw_copy(database_url: str, account_id: str) -> tuple[int, float]:
    lines = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        started = time.perf_counter()
        for block in usage_csv(conn, account_id, sandbox=False, start=EXPORT_START,
                               end=datetime(9999, 1, 1, tzinfo=UTC)):
            lines += block.count(b"\n")
        return lines - 1, time.perf_counter() - started


def run_export(db: Any, container: Container, rows: int, runs: int) -> dict[str, Any]:
    profile = container.accounts.create_account("Export Ltd", "GBP", "GB")
    container.wallets.open_wallets(profile.account_id, "GBP")
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    headers = {"x-api-key": key.api_key, "x-api-secret": key.api_secret}
    started = time.perf_counter()
    fill_message_log(db.url, profile.account_id, rows, EXPORT_START)
    progress(f"{rows:,} message log rows copied in {time.perf_counter() - started:.0f} s")
    measured, baseline, hwm_before, hwm_after = [], [], [], []
    with ApiProcess(db.url, db.work_dir / "api.log") as api:
        for run in range(runs):
            copied, raw_s = raw_copy(db.url, profile.account_id)
            baseline.append(copied / raw_s)
            hwm_before.append(api.status_kib("VmHWM"))
            lines, received, seconds = stream_export(api, headers)
            hwm_after.append(api.status_kib("VmHWM"))
            assert lines == copied == rows, (lines, copied, rows)
            measured.append(lines / seconds)
            progress(f"export run {run + 1}: {lines:,} rows, {received / 2**20:.0f} MiB in "
                     f"{seconds:.1f} s; peak RSS {hwm_before[-1] / 1024:.0f} -> "
                     f"{hwm_after[-1] / 1024:.0f} MiB; raw COPY {raw_s:.1f} s")
    return {"rows": rows, "csv_mib": received / 2**20,
            "export_rows_per_s": summary(measured), "raw_copy_rows_per_s": summary(baseline),
            "ratio": statistics.median(measured) / statistics.median(baseline),
            "peak_rss_kib_before": hwm_before, "peak_rss_kib_after": hwm_after}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--only", choices=("verify", "export"))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with bench_database() as db:
        container = build(Settings.from_env({}), db.url)
        try:
            results["machine"] = machine_info(db.url)
            if args.only in (None, "export"):
                results["export"] = run_export(db, container, args.rows, args.runs)
            if args.only in (None, "verify"):
                results["verify"] = run_verify(db.url, container, args.events, args.runs)
        finally:
            container.close()
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
