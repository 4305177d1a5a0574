"""Whether the database answers: the readiness probe's PostgreSQL half."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)


class DatabaseProbe:
    def __init__(self, pools: Sequence[ConnectionPool[Any]]) -> None:
        self._pools = list(pools)

    def reachable(self, timeout_s: float) -> bool:
        """Each pool requests use hands out a connection that answers, all
        within `timeout_s`. While the database is down the pools give up within
        a fraction of that (adapters/postgres/pools.py), and the wait starts a
        reconnection, so the answer turns ready as soon as requests would work."""
        deadline = time.monotonic() + timeout_s
        try:
            for pool in self._pools:
                with pool.connection(timeout=max(0.0, deadline - time.monotonic())) as conn:
                    conn.execute("SELECT 1")
            return True
        except Exception as error:  # any failure means not ready
            log.warning("readiness: postgres unreachable: %s", str(error).strip())
            return False
