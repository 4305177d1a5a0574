"""Each account's cap on the rows it may add to a configuration table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import Connection, sql
from psycopg.errors import UniqueViolation
from psycopg_pool import ConnectionPool

from application.errors import Conflict, ValidationFailed


def insert_within_quota(
    pool: ConnectionPool,
    table: str,
    row: Mapping[str, object],
    *,
    limit: int,
    what: str,
    conflict: Conflict,
) -> None:
    """Insert the account's `row` unless it already has `limit` rows; raise
    `conflict` when the row breaks a uniqueness rule."""
    with pool.connection() as conn, conn.transaction():
        _check_quota(conn, table, str(row["account_id"]), limit=limit, what=what)
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row)),
        )
        try:
            conn.execute(insert, list(row.values()))
        except UniqueViolation:
            raise conflict from None


def _check_quota(
    conn: Connection[Any], table: str, account_id: str, *, limit: int, what: str
) -> None:
    """Refuse one more of the account's rows past `limit`, within the caller's
    transaction. Locking the account serialises its additions, so the count
    still holds when the caller's insert commits."""
    conn.execute("SELECT 1 FROM accounts WHERE id = %s FOR UPDATE", (account_id,))
    count = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE account_id = %s").format(sql.Identifier(table)),
        (account_id,),
    ).fetchone()
    if count is not None and int(count[0]) >= limit:
        raise ValidationFailed(f"An account has at most {limit} {what}")
