"""The dispatcher under faults, counted at the SMSC: a bulk is handed to a
real SMPP server while PostgreSQL is stopped and started again, or while the
dispatcher process is killed. The SMSC's own record of submit_sm is the
truth about what reached handsets.

The relay and the dispatcher run as the product runs them, as `smsledger`
processes, on a PostgreSQL of the test's own (so it can be stopped without
disturbing other tests) and the run's NATS.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

import psycopg
import pytest

from adapters.bootstrap.container import Container, build
from adapters.bootstrap.infrastructure import migrate_database
from adapters.config.settings import Settings
from adapters.runtime.embedded import EmbeddedPostgres
from application.sending.send import BulkRecipient, SendBulk
from domain.message import Message
from domain.messaging.status import FINAL_STATUSES
from domain.wallet import TopUpSource
from tests.conftest import RUN_ID
from tests.support.smsc import ScriptedSmsc, free_port

pytestmark = pytest.mark.e2e

SMSLEDGER = [sys.executable, "-m", "adapters.cli.main"]
BULK = 1_500
FINAL_TIMEOUT_S = 180
_streams = itertools.count(1)


class SmscThread:
    """The SMSC on an event loop of its own, so the test can block."""

    def __init__(self) -> None:
        self.smsc = ScriptedSmsc(free_port(), receipts="text", receipt_delay_s=0.005,
                                 receipts_to_any_bind=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> SmscThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.smsc.start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.smsc.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def submitted(self) -> Counter[str]:
        return Counter(s.destination_addr for s in list(self.smsc.submits))


@dataclass
class Rig:
    postgres: EmbeddedPostgres
    dsn: str
    env: dict[str, str]
    smsc: SmscThread
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[BinaryIO] = field(default_factory=list)

    def start(self, role: str) -> None:
        log = (Path(self.env["FAULT_LOG_DIR"]) / f"{role}.log").open("ab")
        self.logs.append(log)
        self.processes[role] = subprocess.Popen(
            [*SMSLEDGER, role], env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def container(self) -> Container:
        return build(Settings.from_env({}), self.dsn)

    def statuses(self, message_ids: list[UUID]) -> Counter[str]:
        container = self.container()
        try:
            found = container.app.get_many(message_ids)
            return Counter(str(m.status) for m in found.values() if isinstance(m, Message))
        finally:
            container.close()

    def wait_until_final(self, message_ids: list[UUID]) -> Counter[str]:
        deadline = time.monotonic() + FINAL_TIMEOUT_S
        while True:
            try:
                statuses = self.statuses(message_ids)
            except psycopg.OperationalError:
                statuses = Counter()
            final = sum(n for status, n in statuses.items() if status in FINAL_STATUSES)
            if final == len(message_ids) or time.monotonic() > deadline:
                return statuses
            time.sleep(0.5)


@pytest.fixture
def rig(tmp_path: Path, nats_url: str) -> Iterator[Rig]:
    # Not under pytest's base temp: as root, PostgreSQL runs as another user
    # that must traverse the directory's parents, and any pytest session
    # starting on the machine makes that base private again.
    pg_root = Path(tempfile.mkdtemp(prefix="smsledger-fault-pg-"))
    try:
        yield from _rig(pg_root, tmp_path, nats_url)
    finally:
        shutil.rmtree(pg_root, ignore_errors=True)


def _rig(pg_root: Path, tmp_path: Path, nats_url: str) -> Iterator[Rig]:
    postgres = EmbeddedPostgres(pg_root)
    dsn = postgres.start()
    migrate_database(dsn)
    n = next(_streams)
    with SmscThread() as smsc:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("UPDATE routes SET carrier = 'smsc', messages_per_second = 5000"
                         " WHERE name = 'default'")
        env = {
            **os.environ, "DATABASE_URL": dsn, "NATS_URL": nats_url,
            "SMSLEDGER_STREAM_NAME": f"SMSLEDGER_FAULT_{RUN_ID}_{n}",
            "SMSLEDGER_SUBJECT_PREFIX": f"smsledger_fault_{RUN_ID}_{n}",
            "SMSLEDGER_SMPP_CARRIERS":
                f"smpp://fault:secret@127.0.0.1:{smsc.smsc.port}/smsc?window_size=10",
            "FAULT_LOG_DIR": str(tmp_path),
        }
        rig = Rig(postgres, dsn, env, smsc)
        try:
            rig.start("relay")
            rig.start("dispatcher")
            yield rig
        finally:
            for process in rig.processes.values():
                process.send_signal(signal.SIGTERM)
            for process in rig.processes.values():
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
            for log in rig.logs:
                log.close()
            postgres.stop()


def _bulk(rig: Rig) -> tuple[list[UUID], list[str]]:
    container = rig.container()
    try:
        profile = container.accounts.create_account("Fault Ltd", "GBP", "GB")
        live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
        container.wallets.top_up(live, 1_000_000_000, TopUpSource.STRIPE, f"cs_{uuid4()}")
        numbers = [f"+4477009{i:05d}" for i in range(BULK)]
        accepted = container.messaging.send_bulk(SendBulk(
            profile.account_id, [BulkRecipient(n) for n in numbers], "Acme", "fault"))
        assert accepted.accepted == BULK
        return [m.message_id for m in accepted.messages], [n.lstrip("+") for n in numbers]
    finally:
        container.close()


def _wait_for_submits(rig: Rig, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(rig.smsc.submitted().values()) < count:
        assert time.monotonic() < deadline, f"only {sum(rig.smsc.submitted().values())} submits"
        time.sleep(0.01)


def _ledger_verifies(rig: Rig) -> None:
    container = rig.container()
    try:
        report = container.verifier.verify()
        assert report.ok, report.problems
    finally:
        container.close()


def test_postgres_stopped_mid_bulk_sends_nothing_twice_and_recovers(rig: Rig) -> None:
    message_ids, numbers = _bulk(rig)
    _wait_for_submits(rig, BULK // 4)
    rig.postgres.stop()
    time.sleep(8)  # clients, pools and the dispatcher's retries meet a dead server
    assert rig.postgres.start() == rig.dsn
    statuses = rig.wait_until_final(message_ids)
    submitted = rig.smsc.submitted()
    print(f"\nPostgreSQL outage: {sum(submitted.values())} submits for {BULK} messages;"
          f" {statuses}")
    assert statuses == Counter({"delivered": BULK}), statuses
    assert set(submitted) == set(numbers)
    assert [n for n, times in submitted.items() if times > 1] == []  # none twice
    _ledger_verifies(rig)


def test_a_killed_dispatchers_backlog_is_final_within_a_minute_or_so(rig: Rig) -> None:
    message_ids, numbers = _bulk(rig)
    _wait_for_submits(rig, BULK // 4)
    rig.processes["dispatcher"].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    rig.processes["dispatcher"].wait(10)
    rig.start("dispatcher")  # as `up` or the orchestrator does
    statuses = rig.wait_until_final(message_ids)
    to_final_s = time.monotonic() - killed_at
    submitted = rig.smsc.submitted()
    twice = [n for n, times in submitted.items() if times > 1]
    print(f"\nDispatcher SIGKILL: every message final {to_final_s:.1f}s after the kill;"
          f" {len(twice)} sent twice (in flight at the kill); {statuses}")
    assert statuses == Counter({"delivered": BULK}), statuses
    assert set(submitted) == set(numbers)
    # Only what the dead dispatcher had handed over and not yet recorded can
    # go twice: one chunk, the published runs (a relay section of up to 500
    # messages each) it took to reach the dispatch batch of 200.
    assert len(twice) <= 700
    # The ack wait (30 s) plus a dead claim's lease (30 s) bound the wait.
    assert to_final_s < 90, to_final_s
    _ledger_verifies(rig)
