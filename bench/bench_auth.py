"""Benchmark: what authentication costs a request.

    python -m bench.bench_auth [--runs N] [--json PATH]

One uvicorn process serves bench/auth_app.py: the same cheap GET
handler without authentication (the baseline) and behind the API-key
dependency, its permission check and the per-key rate limiter (measured).
A lean asyncio client on keep-alive connections (pre-encoded requests, so
that the client's own cost stays small) sends REQUESTS_PER_RUN requests per
run, alternating baseline and measured runs. Two figures per run:

- the server's CPU time per request (user + system of the server process,
  all its threads, from /proc/<pid>/stat around the run): what a request
  costs, and steady on a machine whose other tenants take most of the CPU;
- requests per second, which on such a machine also measures how much CPU
  the scheduler happened to give the server.

The cost ratio is median(measured CPU per request) / median(baseline CPU per
request); the target is <= 1.3. The throughput ratio, median(baseline rate) /
median(measured rate), is reported beside it. A third figure interleaves the
three kinds request by request on one keep-alive connection
(INTERLEAVED_ROUNDS rounds per run) and compares median latencies, so that
every kind meets the same moment's load.

Measured credential forms: the X-API-Key + X-API-Secret pair, and an OAuth
access token as Bearer. The account's limit is raised so that the limiter
runs (spends leased tokens, leases a new batch every MAX_LEASE_TOKENS
requests with one UPDATE) without refusing anything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.middleware.credentials import (
    KeyPair,
    cached_grant,
    credentials_from_raw,
    verify_grant,
)
from adapters.http.middleware.rate_limit import MAX_LEASE_TOKENS, RateLimiter
from adapters.postgres.identity.api_keys import KeyGrant
from bench.harness import bench_database, machine_info, progress, summary
from tests.support.api_process import free_port

TARGET_MAX_RATIO = 1.3
REQUESTS_PER_RUN = 5000
WARM_UP_REQUESTS = 500
CONNECTIONS = 8
BENCH_RATE_LIMIT_PER_S = 1_000_000  # high enough never to refuse; the limiter still runs
READY_TIMEOUT_S = 60.0
DEFAULT_RUNS = 7
IN_PROCESS_REQUESTS = 20_000
INTERLEAVED_ROUNDS = 1000
_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


def _request(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _connection(port: int, request: bytes, count: int, statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = _LENGTH.search(head)
            assert match is not None, head
            await reader.readexactly(int(match.group(1)))
            statuses[int(head[9:12])] += 1
    finally:
        writer.close()


async def _burst(port: int, request: bytes, total: int) -> tuple[float, Counter[int]]:
    statuses: Counter[int] = Counter()
    per_connection = total // CONNECTIONS
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, request, per_connection, statuses)
                           for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    return per_connection * CONNECTIONS / elapsed, statuses


def rate(port: int, request: bytes, total: int = REQUESTS_PER_RUN) -> float:
    """Requests per second; every answer must be 200."""
    per_s, statuses = asyncio.run(_burst(port, request, total))
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {dict(statuses)}")
    return per_s


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds a process has used, all threads."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_run(pid: int, port: int, request: bytes) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request)."""
    before = cpu_s(pid)
    per_s = rate(port, request)
    return per_s, (cpu_s(pid) - before) / REQUESTS_PER_RUN * 1e6


class BenchServer:
    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "SMSLEDGER_LOG_LEVEL": "WARNING"}
        env.pop("NATS_URL", None)
        repo = Path(__file__).resolve().parents[1]
        self._log = open(log_path, "wb")  # closed in stop()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory",
             "bench.auth_app:create_bench_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"bench server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("bench server not ready")

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self._log.close()


def run_auth(runs: int) -> dict[str, Any]:
    with bench_database() as db:
        results: dict[str, Any] = {"machine": machine_info(db.url), "runs_per_benchmark": runs}
        container = build(Settings.from_env({}), db.url)
        try:
            profile = container.accounts.create_account("Bench auth", "GBP", "GB")
            container.accounts.set_rate_limit(profile.account_id, BENCH_RATE_LIMIT_PER_S)
            key = container.accounts.issue_key(profile.account_id, sandbox=False, name="bench")
            results["in_process"] = _in_process(container, key.api_key, key.api_secret, runs)
        finally:
            container.close()
        server = BenchServer(db.url, db.work_dir / "bench-auth.log")
        try:
            results["auth"] = _measure(server, key.api_key, key.api_secret, runs)
        finally:
            server.stop()
    return results


def _in_process(container: Container, api_key: str, api_secret: str, runs: int) -> dict[str, Any]:
    """Microseconds the key middleware's own work takes per request, warm:
    parse the headers, verify from the cache, take a rate-limit token."""
    limiter = RateLimiter(container.accounts.rate_buckets, BENCH_RATE_LIMIT_PER_S)
    raw = [(b"host", b"127.0.0.1"), (b"x-api-key", api_key.encode()),
           (b"x-api-secret", api_secret.encode())]

    async def loop(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            credentials = credentials_from_raw(raw)
            assert isinstance(credentials, KeyPair)
            grant = cached_grant(container.accounts, credentials)
            if not isinstance(grant, KeyGrant):
                grant = verify_grant(container.accounts, credentials)
                assert grant is not None
            await limiter.take(grant.key_id, grant.rate_limit_per_s)
        return (time.perf_counter() - started) / count * 1e6

    asyncio.run(loop(WARM_UP_REQUESTS))
    per_request_us = [asyncio.run(loop(IN_PROCESS_REQUESTS)) for _ in range(runs)]
    return {"requests_per_run": IN_PROCESS_REQUESTS, "us_per_request": summary(per_request_us)}


def _read_response(sock: socket.socket) -> int:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, _, body = buffer.partition(b"\r\n\r\n")
    match = _LENGTH.search(head)
    assert match is not None, head
    while len(body) < int(match.group(1)):
        body += sock.recv(65536)
    return int(head[9:12])


def interleaved_latency_us(port: int, requests: dict[str, bytes]) -> dict[str, float]:
    """Median latency of each kind, sent in turn on one connection."""
    latencies: dict[str, list[float]] = {name: [] for name in requests}
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(INTERLEAVED_ROUNDS):
            for name, request in requests.items():
                started = time.perf_counter()
                sock.sendall(request)
                if _read_response(sock) != 200:
                    raise RuntimeError(f"{name}: not 200")
                latencies[name].append((time.perf_counter() - started) * 1e6)
    return {name: statistics.median(values) for name, values in latencies.items()}


def _measure(server: BenchServer, api_key: str, api_secret: str, runs: int) -> dict[str, Any]:
    port = server.port
    base = f"http://127.0.0.1:{port}"
    token = httpx.post(f"{base}/v1/oauth/access_token", data={
        "client_id": api_key, "client_secret": api_secret}).json()["access_token"]
    pair = {"X-API-Key": api_key, "X-API-Secret": api_secret}
    check = httpx.get(f"{base}/bench/authed", headers=pair)
    assert check.status_code == 200 and "x-ratelimit-limit" in check.headers, check.text
    requests = {
        "open": _request("/bench/open", {}),
        "key_pair": _request("/bench/authed", pair),
        "access_token": _request("/bench/authed", {"Authorization": f"Bearer {token}"}),
    }
    for request in requests.values():
        rate(port, request, WARM_UP_REQUESTS)
    per_s: dict[str, list[float]] = {name: [] for name in requests}
    cpu_us: dict[str, list[float]] = {name: [] for name in requests}
    latency_us: dict[str, list[float]] = {name: [] for name in requests}
    for index in range(runs):
        for name, request in requests.items():
            rps, cpu = timed_run(server.pid, port, request)
            per_s[name].append(rps)
            cpu_us[name].append(cpu)
        for name, latency in interleaved_latency_us(port, requests).items():
            latency_us[name].append(latency)
        progress(f"  run {index + 1}/{runs}: " + "  ".join(
            f"{name} {per_s[name][-1]:.0f}/s {cpu_us[name][-1]:.0f} us"
            f" p50 {latency_us[name][-1]:.0f} us" for name in requests))
    measured = ("key_pair", "access_token")
    base_cpu = statistics.median(cpu_us["open"])
    base_rate = statistics.median(per_s["open"])
    cost_ratio = {name: statistics.median(cpu_us[name]) / base_cpu for name in measured}
    rate_ratio = {name: base_rate / statistics.median(per_s[name]) for name in measured}
    base_latency = statistics.median(latency_us["open"])
    latency_ratio = {name: statistics.median(latency_us[name]) / base_latency
                     for name in measured}
    return {
        "target": f"CPU cost ratio <= {TARGET_MAX_RATIO}",
        "requests_per_run": REQUESTS_PER_RUN,
        "connections": CONNECTIONS,
        "lease_tokens": MAX_LEASE_TOKENS,
        "cpu_us_per_request": {name: summary(values) for name, values in cpu_us.items()},
        "requests_per_s": {name: summary(values) for name, values in per_s.items()},
        "cost_ratio": cost_ratio,
        "throughput_ratio": rate_ratio,
        "latency_us": {name: summary(values) for name, values in latency_us.items()},
        "latency_ratio": latency_ratio,
        "pass": all(r <= TARGET_MAX_RATIO
                    for r in (*cost_ratio.values(), *latency_ratio.values())),
    }


def render(results: dict[str, Any]) -> str:
    machine, auth = results["machine"], results["auth"]
    lines = [
        f"auth benchmark, {machine['date_utc']}: {machine['nproc']} CPUs ({machine['cpu_model']}),"
        f" Python {machine['python']}, PostgreSQL {machine['postgresql']}, git {machine['git']}",
        f"{REQUESTS_PER_RUN} GETs per run on {CONNECTIONS} keep-alive connections,"
        f" {results['runs_per_benchmark']} alternating runs; target {auth['target']}",
        f"{'':<14}{'server CPU us/req':>18}{'requests/s':>12}{'cost ratio':>12}"
        f"{'rate ratio':>12}{'p50 us (1 conn)':>17}{'latency ratio':>15}",
    ]
    for name in ("open", "key_pair", "access_token"):
        cpu = auth["cpu_us_per_request"][name]["median"]
        per_s = auth["requests_per_s"][name]["median"]
        cost = auth["cost_ratio"].get(name)
        rate_ratio = auth["throughput_ratio"].get(name)
        latency = auth["latency_us"][name]["median"]
        latency_ratio = auth["latency_ratio"].get(name)
        lines.append(
            f"{name:<14}{cpu:>18.1f}{per_s:>12.0f}"
            f"{'-' if cost is None else f'{cost:.3f}':>12}"
            f"{'-' if rate_ratio is None else f'{rate_ratio:.3f}':>12}"
            f"{latency:>17.0f}"
            f"{'-' if latency_ratio is None else f'{latency_ratio:.3f}':>15}"
        )
    in_process = results["in_process"]["us_per_request"]["median"]
    lines.append(f"in process, the key middleware's own work: median {in_process:.1f} us a request"
                 " (parse, cached verify, rate-limit token)")
    lines.append("PASS" if auth["pass"] else "FAIL")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_auth")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 50:
        parser.error("--runs is 1 to 50")
    results = run_auth(args.runs)
    print(render(results), flush=True)
    encoded = json.dumps(results, separators=(",", ":"))
    if args.json:
        args.json.write_text(encoded + "\n", encoding="utf-8")
    else:
        print(encoded, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
