"""A real container (the composition root's) on this run's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.bootstrap import Container, build
from adapters.config import Settings


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = build(Settings.from_env({}), database_url)
    try:
        yield built
    finally:
        built.close()
