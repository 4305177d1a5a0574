"""Opt-outs: an append-only log per account and number, and who to route an
inbound reply to."""

from __future__ import annotations

import threading
import time

from psycopg_pool import ConnectionPool

from adapters.postgres.dispatch import load_routes
from application.delivery.routing import reply_country
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


class MessageLogRouter:
    """Routes a reply to the account that last sent a live message to it, and
    tells the country its carrier's route is in."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def account_for(self, source: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT account_id FROM rm_message_log WHERE destination = %s AND NOT sandbox"
                " ORDER BY accepted_at DESC LIMIT 1",
                (source,),
            ).fetchone()
        return str(row[0]) if row else None

    def country_for(self, carrier: str, route: str | None) -> str | None:
        # Read afresh for each reply: replies are few, and a route just
        # added applies at once.
        return reply_country(load_routes(self._pool), carrier, route)
