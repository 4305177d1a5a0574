"""Connection pools that give up quickly while PostgreSQL is down and find
it again by themselves when it is back.

psycopg_pool's defaults suit a database that is up. A request that finds no
idle connection waits up to `timeout` (30 s by default) for one, and a lost
connection is re-established in the background with a delay that doubles up
to `reconnect_timeout` (5 minutes). During an outage, requests therefore hung
for 30-60 s before failing, and once the database was back the pool kept
waiting for the next step of its backoff, so requests that had hung got
their connections in a burst, long after their callers had given up.

Here:
- a failed attempt to connect marks the pool unreachable, until a connection
  is made or one comes back from a request in good order; and if no
  connection is out with a request, it fails at once every request waiting
  for one, since none is coming back soon. (While some are out, the waiting
  requests wait for them: a server that refuses a new connection because it
  has too many is not down);
- while the pool is unreachable, a request waits at most DOWN_WAIT_S. That is
  long enough for its wait to start a new connection attempt (so the first
  request after the database returns finds it) and short enough to answer
  503 within a second or two;
- background reconnection stops after RECONNECT_TIMEOUT_S, which hands it to
  the requests: each connection missing from the pool is attempted again
  when a request needs it, instead of after minutes of backoff;
- libpq stops connecting after CONNECT_TIMEOUT_S (psycopg's default is
  130 s), and TCP keepalives and tcp_user_timeout drop a connection to a
  host that stopped answering instead of waiting on it for minutes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from eventsourcing import postgres
from psycopg import Connection
from psycopg_pool import PoolTimeout

log = logging.getLogger(__name__)

# How long a request waits for a pooled connection while the database is up
# and every connection is busy; after that it is answered 503.
POOL_WAIT_S = 5.0
# ... and while the last attempt to connect failed.
DOWN_WAIT_S = 0.25
RECONNECT_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 3
# libpq parameters for every connection (ignored on Unix-domain sockets).
CONNECTION_LIMITS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # milliseconds
}


class FailFastPool(postgres.ConnectionPool[Any]):
    """A psycopg pool (the event store library's flavour, which both pools
    use) that tells an unreachable database from a busy one."""

    def __init__(self, conninfo: str = "", **settings: Any) -> None:
        settings.setdefault("timeout", POOL_WAIT_S)
        settings.setdefault("reconnect_timeout", RECONNECT_TIMEOUT_S)
        settings["kwargs"] = {**CONNECTION_LIMITS, **(settings.get("kwargs") or {})}
        self._unreachable = False
        self._out = 0  # connections handed to requests and not yet returned
        self._out_guard = threading.Lock()
        super().__init__(conninfo, **settings)

    @property
    def unreachable(self) -> bool:
        """True from a failed attempt to connect until the database is
        reached again."""
        return self._unreachable

    def getconn(self, timeout: float | None = None) -> Connection[Any]:
        wait_s = self.timeout if timeout is None else timeout
        if self._unreachable:
            wait_s = min(wait_s, DOWN_WAIT_S)
        conn: Connection[Any] = super().getconn(wait_s)
        with self._out_guard:
            self._out += 1
        return conn

    def putconn(self, conn: Connection[Any]) -> None:
        with self._out_guard:
            self._out -= 1
        if not (conn.broken or conn.closed):
            self._reached()
        super().putconn(conn)

    def _connect(self, timeout: float | None = None) -> Connection[Any]:
        try:
            conn: Connection[Any] = super()._connect(timeout)
        except Exception:
            if not self._unreachable:
                log.warning("pool %r cannot reach the database", self.name)
            self._unreachable = True
            with self._out_guard:
                none_out = self._out <= 0
            if none_out:
                self._fail_waiting_requests()
            raise
        self._reached()
        return conn

    def _reached(self) -> None:
        if self._unreachable:
            log.warning("pool %r reached the database again", self.name)
        self._unreachable = False

    def _fail_waiting_requests(self) -> None:
        # psycopg_pool keeps its waiting requests in `_waiting` and fails
        # them this way itself when the pool closes.
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
        for position in waiting:
            position.fail(PoolTimeout(f"pool {self.name!r}: the database refused a connection"))


def event_store_pool(datastore: postgres.PostgresDatastore, name: str) -> FailFastPool:
    """A FailFastPool with the settings of the event store's own (unopened)
    pool, to replace it before first use."""
    own = datastore.pool
    assert own.closed, "replaced before it opens"
    kwargs = own.kwargs if isinstance(own.kwargs, dict) else {}
    return FailFastPool(
        connection_class=own.connection_class,
        kwargs=kwargs,
        min_size=own.min_size,
        max_size=own.max_size,
        open=False,
        configure=datastore.after_connect_func(),
        max_waiting=own.max_waiting,
        max_lifetime=own.max_lifetime,
        name=name,
    )
