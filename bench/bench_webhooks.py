"""Benchmark: webhook delivery throughput, and latency from a stored delivery
report to its webhook's arrival.

    python -m bench.bench_webhooks [--runs N] [--json PATH]

Throughput. DELIVERIES webhooks are queued for one endpoint, a local sink in
its own process that answers 200 at once. Measured: the product's
WebhookSender (default limits: 200 in flight, 10 per endpoint; claim, sign,
post, record each attempt) from its start until the sink has counted them
all. Baseline, as the target names it: a raw httpx.AsyncClient posting the
same bodies to the same sink with the same 10 connections and no
bookkeeping. The product posts with aiohttp, so a second baseline is a raw
aiohttp session doing the same: the ratio to it is what the sender's own
work (claims, signing, records) costs. The three alternate run by run;
medians; ratio = measured / baseline deliveries per second. Target: at
least 500 deliveries per second.

Latency. The relay and the webhooks role run as in production (a fresh
JetStream stream); delivery reports for LATENCY_MESSAGES messages are stored
through the application at each of LATENCY_RATES_PER_S, and the sink measures, for each
message.delivered webhook, its arrival time minus its `delivered_at` (the
stored event's time). Reported as p50, p99 and max.

The sink's host is in the allowed list, so the address checks (DNS and
ranges) are skipped, as they would be for any local receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiohttp
import httpx
import nats

from adapters.bootstrap.container import Container, build
from adapters.bootstrap.workers import WorkerThread
from adapters.config.settings import Settings
from adapters.jetstream.batches import encode_envelope
from adapters.projector.runner import Delivery, ProjectionRunner
from adapters.webhooks.config import WebhookSettings
from adapters.webhooks.endpoints import WebhookEndpoints
from adapters.webhooks.intake import WebhookIntake
from adapters.webhooks.sender import WebhookSender
from adapters.webhooks.ssrf import SystemResolver, UrlGuard
from application.delivery.outcomes import Outcome, OutcomeKind
from application.sending.send import BulkRecipient, SendBulk
from bench.bench_lag import isolated_bus
from bench.bench_relay import (
    delete_stream_quietly,
    head_of,
    nats_server,
    set_relay_position,
)
from bench.harness import (
    SENDER,
    alternate,
    bench_database,
    create_account,
    machine_info,
    progress,
    summary,
    uk_mobile,
)
from domain.ids import keyed_message_id
from domain.messaging.status import MessageStatus
from domain.published import Envelope

DELIVERIES = 2000
INTAKE_BATCH = 500
TARGET_PER_S = 500
LATENCY_MESSAGES = 2000
LATENCY_RATES_PER_S = (100, 500)
REPORT_BATCH = 50
POLL_S = 0.02
WAIT_LIMIT_S = 120.0
LOCAL = frozenset({"127.0.0.1"})


class Sink:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.webhook_sink"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().split()[1])
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/hooks"

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/stats", timeout=10).json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        httpx.post(f"{self.base}/reset", timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _hooks_container(container: Container) -> Container:
    settings = replace(container.settings, webhooks=WebhookSettings(allow_hosts=LOCAL))
    return replace(container, settings=settings, webhook_guard=UrlGuard(SystemResolver(), LOCAL))


# Throughput ----------------------------------------------------------------------


def _queue(container: Container, account_id: str, first_id: int) -> list[bytes]:
    """Queue DELIVERIES message.delivered webhooks; their bodies."""
    intake = WebhookIntake(name=f"webhooks_bench_{uuid4().hex[:8]}")
    runner = ProjectionRunner(intake, container.pool, max_deliveries=1)
    now = datetime.now(UTC)
    envelopes = [
        Envelope(id=first_id + i, type="message.delivery_reported", version=1, occurred_at=now,
                 account_id=account_id, aggregate_id=uuid4(), aggregate_version=3,
                 data={"carrier_status": "DELIVRD", "status": "delivered", "error_code": "",
                       "settlement": "capture"})
        for i in range(DELIVERIES)
    ]
    for start in range(0, DELIVERIES, INTAKE_BATCH):
        chunk = envelopes[start:start + INTAKE_BATCH]
        runner.apply_batch([Delivery(None, [e], encode_envelope(e), e.id) for e in chunk])
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT body FROM webhook_events WHERE envelope_id BETWEEN %s AND %s ORDER BY seq",
            (first_id, first_id + DELIVERIES - 1),
        ).fetchall()
    return [bytes(row[0]) for row in rows]


async def _until_count(sink: Sink, count: int) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    async with httpx.AsyncClient(timeout=10) as http:
        while time.monotonic() < deadline:
            if (await http.get(f"{sink.base}/stats")).json()["count"] >= count:
                return
            await asyncio.sleep(POLL_S)
    raise TimeoutError(f"the sink did not get {count} webhooks in {WAIT_LIMIT_S}s")


def _measured_run(container: Container, sink: Sink, bodies_holder: list[list[bytes]],
                  account_id: str, run: list[int]) -> float:
    sink.reset()
    run[0] += 1
    bodies_holder.append(_queue(container, account_id, 10**12 + run[0] * 10 * DELIVERIES))

    async def main() -> float:
        stop = asyncio.Event()
        sender = WebhookSender(container.database_url, container.webhook_guard,
                               container.settings.webhooks)
        started = time.perf_counter()
        task = asyncio.create_task(sender.run(stop))
        await _until_count(sink, DELIVERIES)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        return elapsed

    return DELIVERIES / asyncio.run(main())


def _baseline_run(sink: Sink, bodies: list[bytes], per_endpoint: int) -> float:
    sink.reset()

    async def main() -> float:
        gate = asyncio.Semaphore(per_endpoint)
        limits = httpx.Limits(max_connections=per_endpoint,
                              max_keepalive_connections=per_endpoint)
        # The same socket option as the product's client: the baseline is the
        # best a raw client does, not one held back by Nagle's algorithm.
        transport = httpx.AsyncHTTPTransport(
            limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        async with httpx.AsyncClient(transport=transport, timeout=10) as http:
            async def post(body: bytes) -> None:
                async with gate:
                    response = await http.post(sink.url, content=body,
                                               headers={"Content-Type": "application/json"})
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(post(body) for body in bodies))
            return time.perf_counter() - started

    return len(bodies) / asyncio.run(main())


def _aiohttp_run(sink: Sink, bodies: list[bytes], per_endpoint: int) -> float:
    sink.reset()

    async def main() -> float:
        gate = asyncio.Semaphore(per_endpoint)
        connector = aiohttp.TCPConnector(limit=per_endpoint, limit_per_host=per_endpoint)
        async with aiohttp.ClientSession(connector=connector) as http:
            async def post(body: bytes) -> None:
                async with gate, http.post(sink.url, data=body, headers={
                        "Content-Type": "application/json"}) as response:
                    response.raise_for_status()
                    await response.read()

            started = time.perf_counter()
            await asyncio.gather(*(post(body) for body in bodies))
            return time.perf_counter() - started

    return len(bodies) / asyncio.run(main())


def run_throughput(container: Container, sink: Sink, runs: int) -> dict[str, Any]:
    account = create_account(container, "Bench webhooks")
    WebhookEndpoints(container.pool).create(account.account_id, sink.url, ["*"], "bench", True)
    bodies: list[list[bytes]] = []
    run = [0]
    per_endpoint = container.settings.webhooks.max_in_flight_per_endpoint
    progress(f"webhooks: {runs} alternating runs of {DELIVERIES} deliveries")
    _measured_run(container, sink, bodies, account.account_id, run)  # warm-up, untimed
    raw_aiohttp: list[float] = []

    def baselines() -> float:
        raw_aiohttp.append(_aiohttp_run(sink, bodies[-1], per_endpoint))
        return _baseline_run(sink, bodies[-1], per_endpoint)

    baseline, measured = alternate(
        baselines,
        lambda: _measured_run(container, sink, bodies, account.account_id, run),
        runs,
    )
    progress(f"  raw aiohttp per run: {', '.join(f'{r:.4g}' for r in raw_aiohttp)}")
    median = statistics.median(measured)
    return {
        "target": f">= {TARGET_PER_S} deliveries/s",
        "deliveries_per_run": DELIVERIES,
        "measured_per_s": summary(measured),
        "baseline_per_s": summary(baseline),
        "ratio": median / statistics.median(baseline),
        "raw_aiohttp_per_s": summary(raw_aiohttp),
        "ratio_to_raw_aiohttp": median / statistics.median(raw_aiohttp),
        "pass": median >= TARGET_PER_S,
    }


# Latency -------------------------------------------------------------------------


def run_latency(container: Container, sink: Sink, nats_url: str,
                rate_per_s: int) -> dict[str, Any]:
    account = create_account(container, f"Bench webhook latency {rate_per_s}")
    WebhookEndpoints(container.pool).create(account.account_id, sink.url,
                                            ["message.delivered"], "bench", True)
    recipients = [BulkRecipient(uk_mobile(i)) for i in range(LATENCY_MESSAGES)]
    key = f"bench-webhook-latency-{rate_per_s}"
    container.messaging.send_bulk(SendBulk(account.account_id, recipients, SENDER, "hello",
                                           idempotency_key=key))
    ids = [keyed_message_id(account.account_id, key, i) for i in range(LATENCY_MESSAGES)]
    head = head_of(container)
    set_relay_position(container, head)
    with container.pool.connection() as conn:
        conn.execute("INSERT INTO projection_positions (name, position) VALUES ('webhooks', %s)"
                     " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position", (head,))
    bus = isolated_bus(container, "webhooks")
    workers = WorkerThread(replace(container, nats_url=nats_url,
                                   settings=replace(container.settings, bus=bus)),
                           roles=("relay", "webhooks"))
    sink.reset()
    workers.start()
    try:
        started = time.perf_counter()
        for index in range(0, len(ids), REPORT_BATCH):
            container.outcomes.record([
                Outcome(m, OutcomeKind.REPORTED, carrier_status="DELIVRD",
                        status=MessageStatus.DELIVERED)
                for m in ids[index:index + REPORT_BATCH]
            ])
            ahead = (index + REPORT_BATCH) / rate_per_s - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
        stored_s = time.perf_counter() - started
        asyncio.run(_until_count(sink, len(ids)))
    finally:
        workers.stop()
        asyncio.run(_delete_stream(nats_url, bus.stream_name))
    lags = sorted(sink.stats()["lag_ms"])
    return {
        "messages": len(ids),
        "reports_per_s_asked": rate_per_s,
        "reports_per_s_stored": len(ids) / stored_s,
        "p50_ms": _percentile(lags, 50), "p99_ms": _percentile(lags, 99), "max_ms": lags[-1],
    }


async def _delete_stream(nats_url: str, name: str) -> None:
    nc = await nats.connect(nats_url, name="smsledger-bench-webhooks-cleanup")
    try:
        await delete_stream_quietly(nc.jetstream(), name)
    finally:
        await nc.close()


def _percentile(values: list[float], pct: int) -> float:
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values)) - 1))
    return values[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {"runs": args.runs}
    sink = Sink()
    try:
        with bench_database() as db:
            results["machine"] = machine_info(db.url)
            container = _hooks_container(build(Settings.from_env({}), db.url))
            try:
                results["throughput"] = run_throughput(container, sink, args.runs)
                progress(f"throughput: {json.dumps(results['throughput'])}")
                with nats_server(db.work_dir) as nats_url:
                    results["latency"] = [run_latency(container, sink, nats_url, rate)
                                          for rate in LATENCY_RATES_PER_S]
                progress(f"latency: {json.dumps(results['latency'])}")
            finally:
                container.close()
    finally:
        sink.stop()
    encoded = json.dumps(results)
    if args.json:
        args.json.write_text(encoded + "\n")
    print(encoded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
