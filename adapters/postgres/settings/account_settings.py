"""Account rows as the profile and the operators' tools see them: settings,
the trusted mark, rate overrides, and the operators' list of accounts."""

from __future__ import annotations

from psycopg import sql
from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

from application.settings.profile import AccountSettings
from projections.common import check_page_size, decode_cursor, encode_cursor, keyset_page

_COLUMNS = "id AS account_id, name, currency, default_country, timezone, trusted, created_at"
MAX_OVERRIDES_PER_ACCOUNT = 500


class PostgresAccountSettings:
    """Implements AccountSettingsStore, and the operators' account tools."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def get(self, account_id: str) -> AccountSettings | None:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(AccountSettings)
        ) as cur:
            return cur.execute(
                f"SELECT {_COLUMNS} FROM accounts WHERE id = %s", (account_id,)
            ).fetchone()

    def update(
        self, account_id: str, *, name: str | None, timezone: str | None,
        default_country: str | None, clear_default_country: bool,
    ) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE accounts SET name = coalesce(%s, name),"
                " timezone = coalesce(%s, timezone),"
                " default_country = CASE WHEN %s THEN NULL"
                "   ELSE coalesce(%s, default_country) END"
                " WHERE id = %s",
                (name, timezone, clear_default_country, default_country, account_id),
            )

    def exists(self, account_id: str) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT 1 FROM accounts WHERE id = %s", (account_id,)).fetchone()
        return row is not None

    def set_trusted(self, account_id: str, trusted: bool) -> bool:
        """False when there is no such account."""
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE accounts SET trusted = %s WHERE id = %s", (trusted, account_id)
            )
            return cursor.rowcount == 1

    def page(
        self, page_size: int, cursor_token: str | None
    ) -> tuple[list[AccountSettings], str | None, bool, int]:
        """Accounts, newest first: (rows, next cursor, has_more, total)."""
        check_page_size(page_size)
        after = None
        if cursor_token is not None:
            key = decode_cursor(cursor_token, ("created_at", "id"))
            after = [key["created_at"], key["id"]]
        with self._pool.connection() as conn, conn.cursor() as cursor:
            rows, has_more, total = keyset_page(
                cursor, table="accounts", columns=sql.SQL(_COLUMNS),
                conditions=[sql.SQL("true")], params=[], key=("created_at", "id"),
                after=after, page_size=page_size,
            )
        accounts = [AccountSettings(**row) for row in rows]
        token = None
        if has_more and accounts:
            last = accounts[-1]
            token = encode_cursor({"created_at": last.created_at.isoformat(),
                                   "id": last.account_id})
        return accounts, token, has_more, total

    def rate_overrides(self, account_id: str) -> dict[str, int]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT country, price_micros FROM rate_overrides WHERE account_id = %s"
                " ORDER BY country LIMIT %s",
                (account_id, MAX_OVERRIDES_PER_ACCOUNT),
            ).fetchall()
        return {str(country): int(price) for country, price in rows}

    def set_rate_override(self, account_id: str, country: str, price_micros: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO rate_overrides (account_id, country, price_micros)"
                " VALUES (%s, %s, %s) ON CONFLICT (account_id, country)"
                " DO UPDATE SET price_micros = EXCLUDED.price_micros",
                (account_id, country, price_micros),
            )

    def delete_rate_override(self, account_id: str, country: str) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "DELETE FROM rate_overrides WHERE account_id = %s AND country = %s",
                (account_id, country),
            )
            return cursor.rowcount == 1
