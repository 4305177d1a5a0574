"""Benchmark: what authentication costs a request.

    python -m tests.benchmarks.bench_auth [--runs N] [--json PATH]

One uvicorn process serves tests/benchmarks/auth_app.py: the same cheap GET
handler without authentication (the baseline) and behind the API-key
dependency, its permission check and the per-key rate limiter (measured).
A lean asyncio client on keep-alive connections (pre-encoded requests, so
that the client's own cost stays small) sends REQUESTS_PER_RUN requests per
run, alternating baseline and measured runs. The ratio is
median(baseline rate) / median(measured rate), i.e. how many times more an
authenticated request costs; the target is <= 1.3.

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
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from adapters.bootstrap import build
from adapters.config import Settings
from adapters.http.rate_limit import MAX_LEASE_TOKENS
from tests.benchmarks.api_process import _free_port
from tests.benchmarks.harness import bench_database, machine_info, progress, summary

TARGET_MAX_RATIO = 1.3
REQUESTS_PER_RUN = 4000
WARM_UP_REQUESTS = 500
CONNECTIONS = 8
BENCH_RATE_LIMIT_PER_S = 1_000_000  # high enough never to refuse; the limiter still runs
READY_TIMEOUT_S = 60.0
DEFAULT_RUNS = 7
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


class BenchServer:
    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = _free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "SMSLEDGER_LOG_LEVEL": "WARNING"}
        env.pop("NATS_URL", None)
        repo = Path(__file__).resolve().parents[2]
        self._log = open(log_path, "wb")  # closed in stop()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory",
             "tests.benchmarks.auth_app:create_bench_app", "--host", "127.0.0.1",
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
        finally:
            container.close()
        server = BenchServer(db.url, db.work_dir / "bench-auth.log")
        try:
            results["auth"] = _measure(server.port, key.api_key, key.api_secret, runs)
        finally:
            server.stop()
    return results


def _measure(port: int, api_key: str, api_secret: str, runs: int) -> dict[str, Any]:
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
    for index in range(runs):
        for name, request in requests.items():
            per_s[name].append(rate(port, request))
        progress(f"  run {index + 1}/{runs}: " + "  ".join(
            f"{name} {values[-1]:.0f}/s" for name, values in per_s.items()))
    baseline = statistics.median(per_s["open"])
    measured = {name: statistics.median(per_s[name]) for name in ("key_pair", "access_token")}
    ratios = {name: baseline / value for name, value in measured.items()}
    return {
        "target": f"cost ratio <= {TARGET_MAX_RATIO}",
        "requests_per_run": REQUESTS_PER_RUN,
        "connections": CONNECTIONS,
        "lease_tokens": MAX_LEASE_TOKENS,
        "baseline_per_s": summary(per_s["open"]),
        "measured_per_s": {name: summary(per_s[name]) for name in measured},
        "ratio": ratios,
        "pass": all(r <= TARGET_MAX_RATIO for r in ratios.values()),
    }


def render(results: dict[str, Any]) -> str:
    machine, auth = results["machine"], results["auth"]
    lines = [
        f"auth benchmark, {machine['date_utc']}: {machine['nproc']} CPUs ({machine['cpu_model']}),"
        f" Python {machine['python']}, PostgreSQL {machine['postgresql']}, git {machine['git']}",
        f"{REQUESTS_PER_RUN} GETs per run on {CONNECTIONS} keep-alive connections,"
        f" {results['runs_per_benchmark']} alternating runs; target {auth['target']}",
        f"  unauthenticated: median {auth['baseline_per_s']['median']:.0f} requests/s",
    ]
    for name, stats in auth["measured_per_s"].items():
        lines.append(f"  {name}: median {stats['median']:.0f} requests/s,"
                     f" cost ratio {auth['ratio'][name]:.3f}")
    lines.append("PASS" if auth["pass"] else "FAIL")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_auth")
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
