"""Opt-outs: an append-only log per account and number."""

from __future__ import annotations

import threading
import time

from psycopg_pool import ConnectionPool

from domain.inbound import OptAction

# Sends read an account's opted-out numbers from memory. A change made in this
# process is seen at once; one made by another process within this bound.
OPT_OUT_CACHE_TTL_S = 2.0
OPT_OUT_CACHE_MAX_ACCOUNTS = 10_000


class PostgresOptOuts:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._guard = threading.Lock()

    def record(self, account_id: str, phone: str, action: OptAction, *, source: str,
               keyword: str) -> None:
        assert action != OptAction.NONE
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO opt_outs (account_id, phone, action, source, keyword)"
                " VALUES (%s, %s, %s, %s, %s)",
                (account_id, phone, str(action), source, keyword),
            )
        with self._guard:
            self._cache.pop(account_id, None)

    def opted_out(self, account_id: str) -> frozenset[str]:
        now_s = time.monotonic()
        with self._guard:
            cached = self._cache.get(account_id)
        if cached is not None and cached[0] > now_s:
            return cached[1]
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT phone FROM ("
                "  SELECT DISTINCT ON (phone) phone, action FROM opt_outs"
                "  WHERE account_id = %s ORDER BY phone, id DESC"
                ") AS latest WHERE action = 'opt_out'",
                (account_id,),
            ).fetchall()
        numbers = frozenset(str(row[0]) for row in rows)
        with self._guard:
            if len(self._cache) >= OPT_OUT_CACHE_MAX_ACCOUNTS:
                self._cache.clear()
            self._cache[account_id] = (now_s + OPT_OUT_CACHE_TTL_S, numbers)
        return numbers
