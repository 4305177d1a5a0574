"""A real container (the composition root's) on this run's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.app import create_app
from tests.support.accounts import Account, new_account


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = build(Settings.from_env({}), database_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    """The HTTP API on the container, in process."""
    with TestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture
def account(container: Container) -> Account:
    return new_account(container)
