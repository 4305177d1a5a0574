"""Shared fixtures, and the tier markers.

Every test is marked with its tier by the folder it lives in: `unit`,
`contract`, `integration` or `e2e` (so `pytest -m unit` or `-m "not e2e"`).

Integration and e2e tests find PostgreSQL and NATS from DATABASE_URL and
NATS_URL, or start embedded ones. The servers are session fixtures, so they
start only when a selected test asks for them: a unit-only run starts none.
Each test run works in its own database, named after a random run id, and
drops it at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import infra

RUN_ID = infra.new_run_id()
TESTS_ROOT = Path(__file__).resolve().parent
TIERS = ("unit", "contract", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier_of(item.path)
        if tier is not None:
            item.add_marker(tier)


def _tier_of(path: Path) -> str | None:
    """The tier folder `path` lives in; a test anywhere else under tests/ is
    an error, so that `-m unit` and friends never miss one silently."""
    try:
        folder = path.resolve().relative_to(TESTS_ROOT).parts[0]
    except ValueError:
        return None  # not under tests/: not ours to mark
    if folder not in TIERS:
        raise pytest.UsageError(f"{path}: tests live in one of tests/{{{','.join(TIERS)}}}/")
    return folder


@pytest.fixture(scope="session")
def run_id() -> str:
    return RUN_ID


@pytest.fixture(scope="session")
def services_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def postgres_server(services_root: Path) -> Iterator[str]:
    dsn, stop = infra.postgres_server_dsn(services_root)
    try:
        yield dsn
    finally:
        stop()


@pytest.fixture(scope="session")
def nats_url(services_root: Path) -> Iterator[str]:
    url, stop = infra.nats_server_url(services_root)
    try:
        yield url
    finally:
        stop()


@pytest.fixture(scope="session")
def database_url(postgres_server: str) -> Iterator[str]:
    """A fresh, migrated database for this test run."""
    with infra.migrated_database(postgres_server, f"smsledger_test_{RUN_ID}") as url:
        yield url


def pytest_report_header() -> list[str]:
    return [
        f"smsledger run id: {RUN_ID}",
        f"DATABASE_URL: {'set' if os.environ.get('DATABASE_URL') else 'unset (embedded)'}",
        f"NATS_URL: {'set' if os.environ.get('NATS_URL') else 'unset (embedded)'}",
    ]
