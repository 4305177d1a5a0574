"""End-to-end throughput: from accepting a 10,000-recipient bulk to every
message settled, through the relay, JetStream, the dispatcher and the
simulated carrier at zero delay. Compared with the raw event-store write
rate: a raw COPY of 10,000 event rows on the same database, same run.

    python -m bench.bench_e2e [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

from adapters.bootstrap.container import Container, build
from adapters.bootstrap.workers import WorkerThread
from adapters.config.settings import Settings
from application.sending.send import BulkRecipient, SendBulk
from bench.bench_bulk import _raw_rows, copy_raw_events
from bench.harness import (
    BULK_SIZE,
    MESSAGE_ACCEPTED_TOPIC,
    SENDER,
    bench_database,
    create_account,
    machine_info,
    progress,
    sample_state,
    uk_mobile,
)
from domain import ids
from tests.support import infra

SETTLE_TIMEOUT_S = 300.0
POLL_S = 0.05


def _settings(run_id: str) -> Settings:
    settings = Settings.from_env({
        "SMSLEDGER_SIM_RECEIPT_DELAY_S": "0",
        "SMSLEDGER_DISPATCH_BATCH_SIZE": "500",
    })
    bus = replace(settings.bus, stream_name=f"SMSLEDGER_BENCH_{run_id}",
                  subject_prefix=f"smsledger_bench_{run_id}")
    return replace(settings, bus=bus)


def _settled_after(container: Container, account_id: str, started: float) -> float:
    """Seconds from `started` until the account holds nothing back."""
    wallet_id = ids.wallet_id(account_id, sandbox=False)
    deadline = started + SETTLE_TIMEOUT_S
    while time.perf_counter() < deadline:
        container.app.forget_wallet(wallet_id)  # read what the dispatcher saved
        if container.wallets.balance(wallet_id).reserved_micros == 0:
            return time.perf_counter() - started
        time.sleep(POLL_S)
    raise TimeoutError("the bulk did not settle in time")


def _one_run(container: Container, conn: psycopg.Connection[Any], state: bytes) -> dict:
    account = create_account(container, f"E2E {uuid.uuid4().hex[:6]}")
    command = SendBulk(account.account_id, [BulkRecipient(uk_mobile(i)) for i in range(BULK_SIZE)],
                       SENDER, "end to end")
    started = time.perf_counter()
    container.messaging.send_bulk(command)
    accepted_s = time.perf_counter() - started
    settled_s = _settled_after(container, account.account_id, started)
    copy_s = copy_raw_events(conn, _raw_rows(state))
    return {"accepted_s": accepted_s, "settled_s": settled_s,
            "messages_per_s": BULK_SIZE / settled_s, "raw_copy_rows_per_s": BULK_SIZE / copy_s}


def run(runs: int) -> dict[str, Any]:
    with bench_database() as db, tempfile.TemporaryDirectory() as nats_dir:
        nats_url, stop_nats = infra.nats_server_url(Path(nats_dir))
        run_id = infra.new_run_id()
        container = build(_settings(run_id), db.url, nats_url)
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("UPDATE routes SET messages_per_second = 100000")
        workers = WorkerThread(container, roles=("relay", "dispatcher"))
        try:
            workers.start()
            results = []
            with psycopg.connect(db.url, autocommit=True) as conn:
                for index in range(runs):
                    if index == 0:
                        progress("e2e: warm-up bulk")
                        _one_run(container, conn, b"x" * 450)
                    state = sample_state(db.url, MESSAGE_ACCEPTED_TOPIC)
                    results.append(_one_run(container, conn, state))
                    progress(f"e2e run {index + 1}/{runs}: {results[-1]}")
            machine = machine_info(db.url)
        finally:
            workers.stop()
            container.close()
            _delete_stream(nats_url, container.settings.bus.stream_name)
            stop_nats()
    rate = statistics.median(r["messages_per_s"] for r in results)
    raw = statistics.median(r["raw_copy_rows_per_s"] for r in results)
    return {"runs": results, "median_messages_per_s": rate,
            "median_raw_copy_rows_per_s": raw, "ratio": rate / raw, "machine": machine}


def _delete_stream(nats_url: str, stream: str) -> None:
    import asyncio

    import nats

    async def delete() -> None:
        nc = await nats.connect(nats_url)
        try:
            await nc.jetstream().delete_stream(stream)
        except Exception:
            pass
        await nc.close()

    asyncio.run(delete())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = run(args.runs)
    print(f"end to end: median {result['median_messages_per_s']:.0f} messages/s settled; "
          f"raw COPY {result['median_raw_copy_rows_per_s']:.0f} rows/s; "
          f"ratio {result['ratio']:.4f}")
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
