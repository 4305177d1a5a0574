"""Benchmark: concurrent single sends over HTTP on one account.

Measured: `POST /v1/sms/send` to the real API (`smsledger api` in a
subprocess, one uvicorn process), from CLIENTS concurrent keep-alive
connections of one asyncio httpx client, all with one account's live key
(sandbox off, simulated carrier). Every send reserves from the same wallet
and must be committed before its 200, so the API groups concurrent sends
into shared transactions.

Baselines, served the same way (a uvicorn subprocess with the options and
GC tuning of `smsledger api`) and loaded the same way, in the same run:
- `bare-thread`: a bare Litestar handler that decodes the same request
  Struct and returns the same response shape, run in the worker thread pool
  as the product's send handler is (`sync_to_thread=True`);
- `bare-async`: the same handler as a coroutine on the event loop.

For context, not for the target: `ungrouped`, the real API with grouping
turned off (SMSLEDGER_GROUP_COMMIT_MAX=1), so one transaction per send.

Runs alternate bare-thread, bare-async, measured, ungrouped. Figures are requests per
second over a fixed number of requests, and latency percentiles. Every
measured response must be a 200 with status `queued`; at the end the
wallet's stored reservations must number exactly the sends acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import psycopg

from adapters.bootstrap.container import Container
from bench.harness import (
    SENDER,
    TEMPLATE,
    WALLET_RESERVED_TOPIC,
    BenchAccount,
    BenchDatabase,
    create_account,
    progress,
    summary,
    uk_mobile,
    variables_for,
)
from domain import ids
from tests.support.api_process import ApiProcess

CLIENTS = 32
REQUESTS_PER_RUN = 2_000
WARM_UP_REQUESTS = 4 * CLIENTS
DISTINCT_BODIES = 64
TARGET_MIN_RATIO = 0.3
REQUEST_TIMEOUT_S = 60.0
BASELINES = ("bare-thread", "bare-async")
SIDES = (*BASELINES, "measured", "ungrouped")


def _bare_command(handler: str) -> Callable[[int], list[str]]:
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "bench.bare_api", "--port", str(port),
                "--handler", handler]

    return command


def send_bodies() -> list[bytes]:
    """The JSON of POST /v1/sms/send, a few distinct ones encoded once."""
    return [
        msgspec.json.encode({"to": uk_mobile(i), "from": SENDER, "body": TEMPLATE,
                             "variables": variables_for(i)})
        for i in range(DISTINCT_BODIES)
    ]


class _Load:
    """CLIENTS workers, each with its own keep-alive connection, share a
    count of requests to send and keep their latencies. A response other
    than a queued 200 stops the benchmark."""

    def __init__(self, bodies: list[bytes], headers: dict[str, str], total: int) -> None:
        self._bodies = bodies
        self._headers = headers
        self._left = total
        self.latencies_s: list[float] = []

    async def worker(self, client: httpx.AsyncClient) -> None:
        while self._left > 0:
            self._left -= 1
            body = self._bodies[self._left % len(self._bodies)]
            started = time.perf_counter()
            response = await client.post("/v1/sms/send", content=body, headers=self._headers)
            self.latencies_s.append(time.perf_counter() - started)
            if response.status_code != 200 or response.json()["data"]["status"] != "queued":
                raise RuntimeError(
                    f"send failed: HTTP {response.status_code} {response.text[:300]}")


async def _drive(base_url: str, bodies: list[bytes], headers: dict[str, str],
                 total: int) -> dict[str, Any]:
    # One client per worker, each with one connection: httpx's shared pool
    # costs the load generator much more CPU per request when 32 requests
    # wait on it (encode/httpx#3215), and the client shares the CPUs with
    # the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(
                base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S))
            for _ in range(CLIENTS)
        ]
        warm = _Load(bodies, headers, WARM_UP_REQUESTS)
        await asyncio.gather(*(warm.worker(client) for client in clients))
        load = _Load(bodies, headers, total)
        cpu_started = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(load.worker(client) for client in clients))
        wall_s = time.perf_counter() - started
        client_cpu_s = time.process_time() - cpu_started
    latencies = sorted(load.latencies_s)
    return {
        "requests": total,
        "wall_s": wall_s,
        "per_s": total / wall_s,
        "p50_ms": 1000 * _percentile(latencies, 0.50),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "max_ms": 1000 * latencies[-1],
        "client_cpu_us_per_request": 1e6 * client_cpu_s / total,
    }


def _percentile(ordered: list[float], share: float) -> float:
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def _one_run(server: ApiProcess, bodies: list[bytes], headers: dict[str, str]) -> dict[str, Any]:
    cpu_before = server.cpu_s()
    result = asyncio.run(_drive(server.base_url, bodies, headers, REQUESTS_PER_RUN))
    # Includes the warm-up requests; per request of the whole run.
    server_cpu_s = server.cpu_s() - cpu_before
    result["server_cpu_us_per_request"] = (
        1e6 * server_cpu_s / (REQUESTS_PER_RUN + WARM_UP_REQUESTS))
    return result


def run_concurrent(db: BenchDatabase, container: Container, runs: int) -> dict[str, Any]:
    progress(f"concurrent: {runs} alternating runs of {REQUESTS_PER_RUN} sends"
             f" from {CLIENTS} clients, one account")
    # One account per product server, so that each wallet's store check
    # and transaction count belong to one side.
    accounts = {"measured": create_account(container, "Bench concurrent sends"),
                "ungrouped": create_account(container, "Bench ungrouped sends")}
    bodies = send_bodies()
    per_side: dict[str, list[dict[str, Any]]] = {name: [] for name in SIDES}
    work_dir = db.work_dir
    with (
        ApiProcess(db.url, work_dir / "api-concurrent.log") as api,
        ApiProcess(db.url, work_dir / "api-ungrouped.log",
                   env={"SMSLEDGER_GROUP_COMMIT_MAX": "1"}) as ungrouped,
        ApiProcess(db.url, work_dir / "bare-thread.log", _bare_command("thread")) as thread,
        ApiProcess(db.url, work_dir / "bare-async.log", _bare_command("async")) as loop,
    ):
        servers = {"bare-thread": thread, "bare-async": loop, "measured": api,
                   "ungrouped": ungrouped}
        for index in range(runs):
            for name, server in servers.items():
                headers = accounts.get(name, accounts["measured"]).headers()
                per_side[name].append(_one_run(server, bodies, headers))
            progress(f"  run {index + 1}/{runs}: " + "  ".join(
                f"{name} {per_side[name][-1]['per_s']:.0f}/s"
                f" p99 {per_side[name][-1]['p99_ms']:.1f} ms" for name in servers))
    acknowledged = runs * (REQUESTS_PER_RUN + WARM_UP_REQUESTS)
    stores = {name: _check_store(db.url, account, acknowledged)
              for name, account in accounts.items()}
    return _results(per_side, stores, runs)


def _check_store(database_url: str, account: BenchAccount, acknowledged: int) -> dict[str, Any]:
    """Every acknowledged send reserved exactly once; and how many sends
    shared each transaction (rows of one transaction share an xmin)."""
    wallet_id = ids.wallet_id(account.account_id, sandbox=False)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT xmin::text) FROM smsledger_events"
            " WHERE originator_id = %s AND topic = %s",
            (wallet_id, WALLET_RESERVED_TOPIC),
        ).fetchone()
    assert row is not None
    reservations, transactions = int(row[0]), int(row[1])
    if reservations != acknowledged:
        raise RuntimeError(f"{acknowledged} sends acknowledged, {reservations} reserved")
    return {
        "acknowledged": acknowledged,
        "reservations_stored": reservations,
        "transactions": transactions,
        "sends_per_transaction": reservations / transactions,
    }


def _results(per_side: dict[str, list[dict[str, Any]]], stores: dict[str, Any],
             runs: int) -> dict[str, Any]:
    medians = {
        name: {key: statistics.median(run[key] for run in side)
               for key in ("per_s", "p50_ms", "p99_ms", "server_cpu_us_per_request",
                           "client_cpu_us_per_request")}
        for name, side in per_side.items()
    }
    measured = medians["measured"]["per_s"]
    ratios = {name: measured / medians[name]["per_s"] for name in BASELINES}
    # Server CPU per request, baseline over measured: how the two servers
    # compare when the shared load generator's own CPU is left out.
    cpu_ratios = {
        name: medians[name]["server_cpu_us_per_request"]
        / medians["measured"]["server_cpu_us_per_request"]
        for name in BASELINES
    }
    ungrouped_ratios = {
        name: medians["ungrouped"]["per_s"] / medians[name]["per_s"] for name in BASELINES}
    return {
        "target": f"rate >= {TARGET_MIN_RATIO}x a bare handler's",
        "target_min_ratio": TARGET_MIN_RATIO,
        "clients": CLIENTS,
        "requests_per_run": REQUESTS_PER_RUN,
        "warm_up_requests_per_run": WARM_UP_REQUESTS,
        "runs_per_side": runs,
        "medians": medians,
        "per_s": {name: summary([run["per_s"] for run in side])
                  for name, side in per_side.items()},
        "ratio": ratios,
        "ungrouped_ratio": ungrouped_ratios,
        "server_cpu_ratio": cpu_ratios,
        "pass": {name: ratio >= TARGET_MIN_RATIO for name, ratio in ratios.items()},
        "runs": per_side,
        "store": stores,
    }


def concurrent_row(result: dict[str, Any]) -> str:
    medians = result["medians"]
    return (
        f"{'concurrent send':<16}{result['target']:<24}"
        f"{medians['measured']['per_s']:<20.1f}{medians['bare-thread']['per_s']:<20.1f}"
        f"{result['ratio']['bare-thread']:<9.2f}{result['runs_per_side']:<6}"
        f"{'PASS' if result['pass']['bare-thread'] else 'FAIL'} (vs bare-thread)"
    )


def concurrent_details(result: dict[str, Any]) -> list[str]:
    lines = ["", f"concurrent sends, {result['clients']} clients, {result['requests_per_run']}"
             " requests per run (req/s, p50 / p99 ms, server and client CPU us per request):"]
    for name, side in result["runs"].items():
        for index, run in enumerate(side, start=1):
            lines.append(
                f"  {name:<12}{index}: {run['per_s']:8.1f}/s  {run['p50_ms']:6.1f} /"
                f" {run['p99_ms']:6.1f} ms  server {run['server_cpu_us_per_request']:6.0f} us"
                f"  client {run['client_cpu_us_per_request']:5.0f} us")
    for name, ratio in result["ratio"].items():
        lines.append(f"  ratio to {name}: {ratio:.3f}  (ungrouped:"
                     f" {result['ungrouped_ratio'][name]:.3f}; server CPU per request:"
                     f" {result['server_cpu_ratio'][name]:.3f})")
    for name, store in result["store"].items():
        lines.append(f"  store, {name}: {store['reservations_stored']} reservations for"
                     f" {store['acknowledged']} acknowledged sends, in"
                     f" {store['transactions']} transactions"
                     f" ({store['sends_per_transaction']:.1f} sends each)")
    return lines
