"""Which accounts are trusted: their campaigns are approved on submission."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from application.ports import AccountNotFound


class PostgresTrustedAccounts:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def is_trusted(self, account_id: str) -> bool:
        # Read fresh each time: a submit is rare, and an operator who revokes
        # trust expects the next campaign to wait for review.
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT trusted FROM accounts WHERE id = %s", (account_id,)
            ).fetchone()
        if row is None:
            raise AccountNotFound(account_id)
        return bool(row[0])

    def set_trusted(self, account_id: str, trusted: bool) -> None:
        with self._pool.connection() as conn:
            cur = conn.execute(
                "UPDATE accounts SET trusted = %s WHERE id = %s", (trusted, account_id)
            )
        if cur.rowcount != 1:
            raise AccountNotFound(account_id)
