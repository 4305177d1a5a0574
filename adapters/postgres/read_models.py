"""The read models' connection: the HTTP layer names a projection's query
and its arguments, and never holds a pool or a cursor itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from psycopg import Connection, Cursor
from psycopg_pool import ConnectionPool

P = ParamSpec("P")
R = TypeVar("R")


class ReadModels:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def query(
        self, query: Callable[Concatenate[Cursor[Any], P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """One read-model query on a pooled connection."""
        with self._pool.connection() as conn, conn.cursor() as cursor:
            return query(cursor, *args, **kwargs)

    def stream(
        self,
        query: Callable[Concatenate[Connection[Any], P], Iterator[bytes]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Iterator[bytes]:
        """A query's blocks, read as they are consumed. The pooled connection
        is held while the response streams and returned when the generator
        ends or is closed."""
        with self._pool.connection() as conn:
            yield from query(conn, *args, **kwargs)
