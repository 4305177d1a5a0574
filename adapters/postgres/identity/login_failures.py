"""Failed logins per (email, client address), in `login_failures`.

A row exists only while it means something: `forget_at` is its last failure
plus the lockout, after which the count is forgotten and the row is the same
as no row. Rows are written for unknown emails too, so an attacker choosing
emails and addresses writes rows; the per-address sign-in limit bounds how
fast, and each process deletes the forgotten rows now and then.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

from application.identity.ports import LoginFailures

MAX_EMAIL_CHARS = 254
MAX_CLIENT_CHARS = 64
PRUNE_INTERVAL_S = 60.0
# Deleted per prune at most, so that no prune holds a connection for long;
# the next one takes the rest.
PRUNE_BATCH_ROWS = 10_000

# One statement, so that concurrent failures each count exactly once. A row
# past its forget_at counts from zero again; the failure that reaches the
# maximum locks the pair and starts the count again.
_RECORD = """
INSERT INTO login_failures AS f (email, client_address, failures, locked_until, forget_at)
VALUES (%(email)s, %(client)s,
        CASE WHEN 1 >= %(max)s THEN 0 ELSE 1 END,
        CASE WHEN 1 >= %(max)s THEN %(until)s END,
        %(until)s)
ON CONFLICT (email, client_address) DO UPDATE SET (failures, locked_until, forget_at) = (
    SELECT CASE WHEN n >= %(max)s THEN 0 ELSE n END,
           CASE WHEN n >= %(max)s THEN %(until)s
                WHEN f.forget_at > %(now)s THEN f.locked_until END,
           %(until)s
    FROM (SELECT CASE WHEN f.forget_at > %(now)s THEN f.failures ELSE 0 END + 1 AS n) c
)
RETURNING failures, locked_until
"""
_PRUNE = (
    "DELETE FROM login_failures WHERE ctid = ANY(ARRAY("
    " SELECT ctid FROM login_failures WHERE forget_at <= %s LIMIT %s))"
)


class PostgresLoginFailures:
    """Implements LoginFailureStore."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._next_prune_at = time.monotonic() + PRUNE_INTERVAL_S
        self._guard = threading.Lock()

    def failures(self, email: str, client: str, now: datetime) -> LoginFailures:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT failures, locked_until FROM login_failures"
                " WHERE email = %s AND client_address = %s AND forget_at > %s",
                (email[:MAX_EMAIL_CHARS], client[:MAX_CLIENT_CHARS], now),
            ).fetchone()
        if row is None:
            return LoginFailures(0, None)
        locked_until: datetime | None = row[1]
        return LoginFailures(int(row[0]), _while_locked(locked_until, now))

    def record_failure(
        self, email: str, client: str, *, now: datetime, max_failures: int, lockout_s: int
    ) -> LoginFailures:
        self._prune_if_due(now)
        params = {
            "email": email[:MAX_EMAIL_CHARS], "client": client[:MAX_CLIENT_CHARS],
            "max": max_failures, "now": now, "until": _plus_s(now, lockout_s),
        }
        with self._pool.connection() as conn:
            row = conn.execute(_RECORD, params).fetchone()
        assert row is not None
        return LoginFailures(int(row[0]), _while_locked(row[1], now))

    def clear(self, email: str, client: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM login_failures WHERE email = %s AND client_address = %s",
                (email[:MAX_EMAIL_CHARS], client[:MAX_CLIENT_CHARS]),
            )

    def clear_email(self, email: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM login_failures WHERE email = %s",
                         (email[:MAX_EMAIL_CHARS],))

    def prune(self, now: datetime) -> int:
        """Deletes up to PRUNE_BATCH_ROWS forgotten rows; returns how many."""
        with self._pool.connection() as conn:
            return conn.execute(_PRUNE, (now, PRUNE_BATCH_ROWS)).rowcount

    def _prune_if_due(self, now: datetime) -> None:
        with self._guard:
            if time.monotonic() < self._next_prune_at:
                return
            self._next_prune_at = time.monotonic() + PRUNE_INTERVAL_S
        self.prune(now)


def _while_locked(locked_until: datetime | None, now: datetime) -> datetime | None:
    return locked_until if locked_until is not None and locked_until > now else None


def _plus_s(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
