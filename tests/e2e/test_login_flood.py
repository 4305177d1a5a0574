"""A flood of anonymous logins must not take the API's memory, nor another
account's sends: the real `smsledger api` in a subprocess, with the
production Argon2id cost (64 MiB a hash), under 80 concurrent logins for
unknown emails, each from its own address (behind a trusted proxy, so the
per-address limits do not step in: what is measured is the bound on
concurrent hashes). Its peak RSS is read from /proc, and another account
sends with its API key meanwhile; the same sends with no flood give the
floor the p99 is compared with."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from tests.support import infra
from tests.support.api_process import ApiProcess

pytestmark = pytest.mark.e2e

FLOOD_CLIENTS = 80
SENDS = 60
SEND_GAP_S = 0.02
SENDS_BUDGET_S = 15.0
MAX_PEAK_RSS_MIB = 300
MAX_SEND_P99_MS = 250.0
# On a machine so loaded that the sends' own p99 without any flood is over
# a third of the target, the target is this many times that floor instead.
FLOOR_FACTOR = 3.0
FLOOD_WARM_UP_S = 1.0
CLIENT_TIMEOUT_S = 60.0
SEND = {"to": "+447700900123", "from": "Acme", "body": "Your code is 1234"}


@pytest.fixture
def flood_database_url(postgres_server: str, run_id: str) -> Iterator[str]:
    """A database of its own: the flood's sends are not left behind for the
    tests that run the whole product on the run's database, whose workers
    would have to catch up with them."""
    with infra.migrated_database(postgres_server, f"smsledger_test_{run_id}_flood") as url:
        yield url


@pytest.fixture
def sender_key(flood_database_url: str) -> dict[str, str]:
    container: Container = build(Settings.from_env({}), flood_database_url)
    try:
        profile = container.accounts.create_account("Busy Sender Ltd", "GBP", "GB")
        container.wallets.open_wallets(profile.account_id, "GBP")
        container.accounts.set_rate_limit(profile.account_id, 10_000)
        key = container.accounts.issue_key(profile.account_id, sandbox=True)
    finally:
        container.close()
    return {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}


@pytest.fixture
def api(flood_database_url: str, tmp_path: Path) -> Iterator[ApiProcess]:
    # The flood comes through a proxy on 127.0.0.1 that names a new client
    # address per request, as a botnet's would be. Two hashing slots: the
    # default on the two-core machine the target was set for.
    env = {"SMSLEDGER_TRUSTED_PROXIES": "127.0.0.1", "SMSLEDGER_MAX_CONCURRENT_HASHES": "2"}
    with ApiProcess(flood_database_url, tmp_path / "api.log", env=env) as process:
        yield process


class Flood:
    """FLOOD_CLIENTS concurrent login loops, on an event loop of their own."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._stop = threading.Event()
        self._addresses = (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                           for i in itertools.count(1))
        self.statuses: Counter[int | str] = Counter()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=CLIENT_TIMEOUT_S * 2)

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=FLOOD_CLIENTS)
        async with httpx.AsyncClient(base_url=self._base_url, limits=limits,
                                     timeout=CLIENT_TIMEOUT_S) as client:
            await asyncio.gather(*(self._client(client, n) for n in range(FLOOD_CLIENTS)))

    async def _client(self, client: httpx.AsyncClient, n: int) -> None:
        for attempt in itertools.count():
            if self._stop.is_set():
                return
            body = {"email": f"nobody-{n}-{attempt}@example.com", "password": "guess-guess"}
            headers = {"X-Forwarded-For": next(self._addresses)}
            try:
                response = await client.post("/v1/auth/login", json=body, headers=headers)
                self.statuses[response.status_code] += 1
            except httpx.HTTPError as error:
                self.statuses[type(error).__name__] += 1


def _send_latencies_ms(api: ApiProcess, key: dict[str, str]) -> list[float]:
    """SENDS sends one after another, or as many as SENDS_BUDGET_S allows."""
    latencies: list[float] = []
    deadline = time.monotonic() + SENDS_BUDGET_S
    with httpx.Client(base_url=api.base_url, timeout=CLIENT_TIMEOUT_S) as client:
        while len(latencies) < SENDS and time.monotonic() < deadline:
            started = time.perf_counter()
            response = client.post("/v1/sms/send", json=SEND, headers=key)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            time.sleep(SEND_GAP_S)
    return latencies


def _p99(latencies: list[float]) -> float:
    """The nearest-rank 99th percentile."""
    ordered = sorted(latencies)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def _summary(latencies: list[float]) -> str:
    return (f"p99 {_p99(latencies):.0f} ms, median {statistics.median(latencies):.0f} ms"
            f" over {len(latencies)}")


def test_a_login_flood_keeps_memory_bounded_and_other_sends_fast(
    api: ApiProcess, sender_key: dict[str, str]
) -> None:
    _send_latencies_ms(api, sender_key)  # warm: connections, caches, the wallet
    floor = _send_latencies_ms(api, sender_key)
    rss_before_mib = api.status_kib("VmRSS") / 1024
    with Flood(api.base_url) as flood:
        time.sleep(FLOOD_WARM_UP_S)
        flooded = _send_latencies_ms(api, sender_key)
        peak_rss_mib = api.status_kib("VmHWM") / 1024
    print(f"\npeak RSS {peak_rss_mib:.0f} MiB ({rss_before_mib:.0f} MiB before);"
          f" sends under the flood: {_summary(flooded)};"
          f" the floor, with no flood: {_summary(floor)}; flood answers {dict(flood.statuses)}")
    assert flood.statuses[401] > 0, flood.statuses  # the flood did reach the hashes
    assert peak_rss_mib < MAX_PEAK_RSS_MIB
    assert _p99(flooded) < max(MAX_SEND_P99_MS, FLOOR_FACTOR * _p99(floor))


def test_a_clients_own_forwarded_for_is_not_believed(database_url: str, tmp_path: Path) -> None:
    """Without trusted proxies the server counts by the socket's peer, even
    from 127.0.0.1 (which uvicorn's own proxy handling would believe)."""
    limit = 5
    env = {"SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN": str(limit),
           "SMSLEDGER_ARGON2_TIME_COST": "1", "SMSLEDGER_ARGON2_MEMORY_KIB": "8192"}
    with ApiProcess(database_url, tmp_path / "api.log", env=env) as process, \
            httpx.Client(base_url=process.base_url, timeout=CLIENT_TIMEOUT_S) as client:
        codes = [
            client.post("/v1/auth/login",
                        json={"email": f"nobody-{n}@example.com", "password": "guess-guess"},
                        headers={"X-Forwarded-For": f"192.0.2.{n}"}).json()["error"]["code"]
            for n in range(limit + 1)
        ]
    assert codes == ["UNAUTHORIZED"] * limit + ["RATE_LIMITED"]
