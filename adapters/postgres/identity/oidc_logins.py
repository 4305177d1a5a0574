"""The state and nonce of OIDC sign-ins in progress, each usable once."""

from __future__ import annotations

from datetime import datetime

from psycopg_pool import ConnectionPool

# Expired sign-ins are pruned every this many new ones, so the table stays
# small without a separate job.
PRUNE_EVERY_ADDS = 100


class PostgresOidcLogins:
    """Implements OidcLoginStore."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._adds = 0

    def add(self, state: str, nonce: str, expires_at: datetime) -> None:
        self._adds += 1
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO oidc_logins (state, nonce, expires_at) VALUES (%s, %s, %s)",
                (state, nonce, expires_at),
            )
            if self._adds % PRUNE_EVERY_ADDS == 0:
                conn.execute("DELETE FROM oidc_logins WHERE expires_at < now()")

    def consume(self, state: str, now: datetime) -> str | None:
        if len(state) > 128:
            return None
        with self._pool.connection() as conn:
            row = conn.execute(
                "UPDATE oidc_logins SET used_at = %s"
                " WHERE state = %s AND used_at IS NULL AND expires_at > %s RETURNING nonce",
                (now, state, now),
            ).fetchone()
        return None if row is None else str(row[0])
