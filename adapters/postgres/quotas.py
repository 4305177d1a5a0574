"""Each account's cap on the rows it may add to a configuration table."""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql

from application.errors import ValidationFailed


def check_quota(
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
