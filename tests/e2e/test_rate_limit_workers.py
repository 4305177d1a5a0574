"""A key's rate limit holds across API processes: real `smsledger api`
processes, hammered together, accept no more than the documented bound
`limit + limit * t + processes * lease_size(limit)` over t seconds."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.middleware.rate_limit import lease_size
from tests.support.api_process import ApiProcess

pytestmark = pytest.mark.e2e

LIMIT_PER_S = 40
HAMMER_S = 3.0
CLIENTS_PER_URL = 4
PATH = "/v1/settings/api-keys"  # authenticated, one small query


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = build(Settings.from_env({}), database_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def limited_key(container: Container) -> dict[str, str]:
    profile = container.accounts.create_account("Hammer Ltd", "GBP", "GB")
    container.accounts.set_rate_limit(profile.account_id, LIMIT_PER_S)
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    return {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}


def _hammer(urls: list[str], headers: dict[str, str]) -> tuple[Counter[tuple[str, int]], float]:
    """Every client sends back to back for HAMMER_S; counts (url, status)."""
    counts: Counter[tuple[str, int]] = Counter()
    guard = threading.Lock()
    start = threading.Barrier(len(urls) * CLIENTS_PER_URL + 1)
    stop_at: list[float] = []

    def client(url: str) -> None:
        local: Counter[tuple[str, int]] = Counter()
        with httpx.Client(base_url=url, timeout=10.0) as http:
            http.get("/healthz")  # connect before the clock starts
            start.wait()
            while time.monotonic() < stop_at[0]:
                local[(url, http.get(PATH, headers=headers).status_code)] += 1
        with guard:
            counts.update(local)

    threads = [threading.Thread(target=client, args=(url,))
               for url in urls for _ in range(CLIENTS_PER_URL)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    stop_at.append(began + HAMMER_S)
    start.wait()
    for thread in threads:
        thread.join()
    return counts, time.monotonic() - began


def _check(counts: Counter[tuple[str, int]], elapsed_s: float, processes: int) -> int:
    assert set(status for _, status in counts) <= {200, 429}, counts
    accepted = sum(n for (_, status), n in counts.items() if status == 200)
    bound = LIMIT_PER_S + LIMIT_PER_S * elapsed_s + processes * lease_size(LIMIT_PER_S)
    assert accepted <= bound, (accepted, bound, counts)
    # Not refusing everything either (the floor is low: the machine is shared).
    assert accepted >= 0.25 * LIMIT_PER_S * HAMMER_S, (accepted, counts)
    print(f"accepted {accepted} of {sum(counts.values())} in {elapsed_s:.2f} s;"
          f" bound {bound:.0f}; {dict(counts)}")
    return accepted


def test_two_api_processes_share_each_keys_limit(
    database_url: str, limited_key: dict[str, str], tmp_path: Path
) -> None:
    with ApiProcess(database_url, tmp_path / "a.log") as first, \
            ApiProcess(database_url, tmp_path / "b.log") as second:
        urls = [first.base_url, second.base_url]
        counts, elapsed = _hammer(urls, limited_key)
    _check(counts, elapsed, processes=2)
    for url in urls:  # both processes served and both refused
        assert counts[(url, 200)] > 0 and counts[(url, 429)] > 0, counts
    alone = LIMIT_PER_S + LIMIT_PER_S * elapsed
    # Either process alone would have accepted up to `alone`: together they
    # stay within one bucket, not two.
    assert counts[(urls[0], 200)] + counts[(urls[1], 200)] < 2 * alone - 2 * LIMIT_PER_S


def test_smsledger_api_with_two_workers_keeps_the_limit(
    database_url: str, limited_key: dict[str, str], tmp_path: Path
) -> None:
    with ApiProcess(database_url, tmp_path / "workers.log", args=("--workers", "2")) as api:
        counts, elapsed = _hammer([api.base_url], limited_key)
    _check(counts, elapsed, processes=2)
    assert counts[(api.base_url, 429)] > 0
