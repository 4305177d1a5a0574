"""Shared pieces of the benchmarks: the throwaway database, accounts, the
bulk payload, the raw baseline table, statistics and machine facts.

The machine is shared and noisy, so every benchmark compares a measured
figure with a baseline measured in the same run, on the same database,
alternating the two, and reports medians.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg

from adapters.bootstrap.container import Container
from adapters.bootstrap.infrastructure import migrate_database
from domain.money import parse_amount_micros
from domain.wallet import TopUpSource
from tests.support import infra
from tests.support.api_process import ApiProcess

log = logging.getLogger("smsledger.bench")

BULK_SIZE = 10_000
SENDER = "Acme"
TEMPLATE = "Hi {{name}}, your code is {{code}}"
CURRENCY = "GBP"
OPENING_CREDIT = "1000000.00"
MESSAGE_ACCEPTED_TOPIC = "domain.message:Message.Accepted"
WALLET_RESERVED_TOPIC = "domain.wallet:Wallet.FundsReserved"
RAW_TABLE = "bench_raw_events"
COPY_TYPES = ["uuid", "int8", "text", "bytea"]
GIT_TIMEOUT_S = 10
MAX_UK_TEST_NUMBERS = 100_000  # +4477009xxxxx: five free digits
REQUEST_TIMEOUT_S = 180.0

# Same shape, indexes and storage parameters as the library's events table
# (eventsourcing.postgres), so index and autovacuum costs match.
RAW_TABLE_DDL = f"""
CREATE TABLE {RAW_TABLE} (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX {RAW_TABLE}_notification_id_idx ON {RAW_TABLE} (notification_id ASC);
"""


def progress(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the table and the JSON."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The database ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    server_dsn: str
    name: str
    url: str
    work_dir: Path  # for API logs; removed at the end


@contextlib.contextmanager
def bench_database() -> Iterator[BenchDatabase]:
    """A fresh, migrated `smsledger_bench_<run id>` database, always dropped.

    PostgreSQL comes from DATABASE_URL, else an embedded server is started
    under a temporary directory and stopped at the end.
    """
    with contextlib.ExitStack() as stack:
        work_dir = Path(tempfile.mkdtemp(prefix="smsledger-bench-"))
        stack.callback(shutil.rmtree, work_dir, ignore_errors=True)
        progress("starting PostgreSQL" if not os.environ.get("DATABASE_URL")
                 else "using DATABASE_URL")
        server_dsn, stop_server = infra.postgres_server_dsn(work_dir / "services")
        stack.callback(stop_server)
        name = f"smsledger_bench_{infra.new_run_id()}"
        url = infra.create_database(server_dsn, name)
        stack.callback(_drop_quietly, server_dsn, name)
        progress(f"database {name} created; migrating")
        migrate_database(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(RAW_TABLE_DDL.encode())
        yield BenchDatabase(server_dsn, name, url, work_dir)


def _drop_quietly(server_dsn: str, name: str) -> None:
    try:
        infra.drop_database(server_dsn, name)
        progress(f"database {name} dropped")
    except Exception as error:  # report, but let the original error win
        print(f"could not drop database {name}: {error}", file=sys.stderr)


# Accounts and payloads --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchAccount:
    account_id: str
    api_key: str
    api_secret: str

    def headers(self) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "x-api-key": self.api_key,
            "x-api-secret": self.api_secret,
        }


BENCH_RATE_LIMIT_PER_S = 1_000_000


def create_account(container: Container, name: str) -> BenchAccount:
    """As `smsledger accounts create --credit 1000000.00`: account, wallets,
    opening credit and a live key."""
    profile = container.accounts.create_account(name, CURRENCY, "GB")
    live_wallet, _sandbox = container.wallets.open_wallets(profile.account_id, CURRENCY)
    container.wallets.top_up(
        live_wallet,
        parse_amount_micros(OPENING_CREDIT, CURRENCY),
        TopUpSource.ADJUSTMENT,
        f"opening-credit/{profile.account_id}",
    )
    # As `accounts create --sender-id Acme`: live sends need an approved sender.
    request = container.sender_ids.request(profile.account_id, SENDER)
    container.sender_ids.approve(request.id, operator=None)
    # The benchmarks measure throughput, not the per-key rate limit.
    container.accounts.set_rate_limit(profile.account_id, BENCH_RATE_LIMIT_PER_S)
    key = container.accounts.issue_key(profile.account_id, sandbox=False, name="bench")
    return BenchAccount(profile.account_id, key.api_key, key.api_secret)


def uk_mobile(index: int) -> str:
    assert 0 <= index < MAX_UK_TEST_NUMBERS
    return f"+4477009{index:05d}"


def variables_for(index: int) -> dict[str, str]:
    return {"name": f"Customer{index}", "code": f"{(index * 7919) % 1_000_000:06d}"}


def bulk_recipients(count: int = BULK_SIZE) -> list[dict[str, Any]]:
    """Distinct valid UK mobiles, each with two template variables."""
    return [{"to": uk_mobile(i), "variables": variables_for(i)} for i in range(count)]


def bulk_request_body(count: int = BULK_SIZE) -> bytes:
    """The JSON of POST /v1/sms/bulk, encoded once and reused for every request."""
    payload = {"recipients": bulk_recipients(count), "from": SENDER, "body": TEMPLATE}
    return msgspec.json.encode(payload)


def sample_state(database_url: str, topic: str) -> bytes:
    """The stored `state` of the latest event with this topic: a real payload."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT state FROM smsledger_events WHERE topic = %s"
            " ORDER BY notification_id DESC LIMIT 1",
            (topic,),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"no stored event with topic {topic}")
    return bytes(row[0])


# WAL ------------------------------------------------------------------------------

WAL_MESSAGE_BYTES = 10_000_000
MAX_PREWARM_MB = 600


def prewarm_wal(database_url: str, megabytes: int) -> dict[str, Any]:
    """Leave recycled WAL segments ahead of the write position.

    A 10,000-row COPY writes about 8 MB of WAL, half a 16 MB segment. The
    operation that must create the next segment (zero-fill and fsync, about
    +45 ms here) is then every second one, so in strict alternation the same
    side pays every time, until the phase drifts: a bias that alternation
    does not cancel. Writing `megabytes` of WAL and checkpointing makes the
    server recycle those segments as future ones, so that no timed run
    creates one. Needs a superuser; otherwise it is skipped and reported.
    """
    count = math.ceil(min(megabytes, MAX_PREWARM_MB) * 1_000_000 / WAL_MESSAGE_BYTES)
    started = time.perf_counter()
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for _ in range(count):
                conn.execute(
                    "SELECT pg_logical_emit_message(false, 'smsledger-bench', repeat('x', %s))",
                    (WAL_MESSAGE_BYTES,),
                )
            conn.execute("CHECKPOINT")
    except psycopg.Error as error:
        progress(f"WAL pre-warm skipped ({error}); expect bimodal COPY timings")
        return {"done": False, "reason": str(error).strip()}
    return {
        "done": True,
        "megabytes": count * WAL_MESSAGE_BYTES // 1_000_000,
        "seconds": time.perf_counter() - started,
    }


# Statistics -------------------------------------------------------------------


def alternate(
    baseline: Callable[[], float], measured: Callable[[], float], runs: int
) -> tuple[list[float], list[float]]:
    """baseline, measured, baseline, measured... so that noise hits both."""
    baselines: list[float] = []
    measures: list[float] = []
    for index in range(runs):
        baselines.append(baseline())
        measures.append(measured())
        progress(f"  run {index + 1}/{runs}: baseline {baselines[-1]:.4g}"
                 f"  measured {measures[-1]:.4g}")
    return baselines, measures


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": values,
    }


# Machine facts ----------------------------------------------------------------


def machine_info(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_total_mib": _mem_total_kib() // 1024,
        "python": platform.python_version(),
        "postgresql": str(row[0]) if row else "unknown",
        "postgresql_source": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
        "git": _git_revision(),
    }


def _git_revision() -> str:
    """HEAD, plus "+changes" if product files differ from it (benchmarks aside)."""
    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True,
            text=True, timeout=GIT_TIMEOUT_S, check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!bench", ":!docs"],
            cwd=repo, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+changes" if changed else head


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_kib() -> int:
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


def new_client(api: ApiProcess) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, timeout=REQUEST_TIMEOUT_S)


def post_bulk(
    client: httpx.Client, body: bytes, account: BenchAccount, expected: int = BULK_SIZE
) -> float:
    """POST one pre-encoded bulk; seconds from just before sending until the
    whole response is read. Anything but full acceptance is an error."""
    headers = account.headers()
    started = time.perf_counter()
    response = client.post("/v1/sms/bulk", content=body, headers=headers)
    response.read()
    elapsed = time.perf_counter() - started
    _check_bulk_response(response, expected)
    return elapsed


def _check_bulk_response(response: httpx.Response, expected: int) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"bulk failed: HTTP {response.status_code} {response.text[:500]}")
    data: dict[str, Any] = response.json()["data"]
    if data["accepted"] != expected or data["rejected"] != 0:
        raise RuntimeError(f"bulk accepted {data['accepted']}, rejected {data['rejected']}")
