"""Cursor pages of configuration tables, newest first by (created_at, id)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from application.errors import ValidationFailed
from projections.common import check_page_size, decode_cursor, encode_cursor, keyset_page

T = TypeVar("T")


def newest_first(
    pool: ConnectionPool,
    table: str,
    columns: Sequence[str],
    account_id: str,
    page_size: int,
    cursor: str | None,
    record: Callable[..., T],
) -> tuple[list[T], str | None, bool, int]:
    """A page of the account's rows, each made a `record` of its columns by
    name: (records, next cursor, has_more, total)."""
    try:
        check_page_size(page_size)
        after = None if cursor is None else _key(cursor)
    except ValueError as error:
        raise ValidationFailed(str(error)) from error
    select = sql.SQL(", ").join(sql.Identifier(table, name) for name in columns)
    with pool.connection() as conn, conn.cursor() as cur:
        rows, has_more, total = keyset_page(
            cur, table=table, columns=select, conditions=[sql.SQL("account_id = %s")],
            params=[account_id], key=("created_at", "id"), after=after, page_size=page_size,
        )
    token = None
    if has_more:
        last = rows[-1]
        token = encode_cursor({"t": last["created_at"].isoformat(), "id": str(last["id"])})
    return [record(**row) for row in rows], token, has_more, total


def _key(token: str) -> list[Any]:
    key = decode_cursor(token, ("t", "id"))
    try:
        return [datetime.fromisoformat(str(key["t"])), UUID(str(key["id"]))]
    except ValueError as error:
        raise ValueError("invalid cursor") from error
