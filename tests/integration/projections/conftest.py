"""A connection to this run's database with every read model's tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from projections.registry import ALL_PROJECTIONS


@pytest.fixture(scope="session")
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        for projection in ALL_PROJECTIONS:
            connection.execute(projection.ddl())
        yield connection
