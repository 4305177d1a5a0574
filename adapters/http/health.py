"""Liveness and readiness, without authentication."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any
from urllib.parse import urlparse

from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec

from adapters.bootstrap.container import Container
from adapters.http.sms.schemas import HealthOut
from adapters.runtime.roles_status import role_checks

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0


def nats_reachable(nats_url: str) -> bool:
    """A NATS server greets every connection with an INFO line."""
    parsed = urlparse(nats_url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout=CHECK_TIMEOUT_S
        ) as sock:
            return sock.recv(4) == b"INFO"
    except OSError:
        return False


def postgres_reachable(container: Container) -> bool:
    """Each pool requests use hands out a connection that answers, all within
    CHECK_TIMEOUT_S. While the database is down the pools give up within a
    fraction of that (adapters/postgres/pools.py), and the wait starts a
    reconnection, so the answer turns ready as soon as requests would work."""
    deadline = time.monotonic() + CHECK_TIMEOUT_S
    try:
        for pool in container.database_pools():
            with pool.connection(timeout=max(0.0, deadline - time.monotonic())) as conn:
                conn.execute("SELECT 1")
        return True
    except Exception as error:  # any failure means not ready
        log.warning("readiness: postgres unreachable: %s", str(error).strip())
        return False


class HealthController(Controller):
    tags = ["Health"]

    @get("/healthz", operation_id="getHealth", summary="Liveness check", sync_to_thread=False)
    def healthz(self) -> HealthOut:
        return HealthOut(status="ok", checks={})

    @get("/readyz", operation_id="getReadiness",
         summary="Readiness check (database reachable)", sync_to_thread=True,
         responses={503: ResponseSpec(HealthOut, description="Not ready: see checks")})
    def readyz(self, request: Request[Any, Any, Any]) -> Response[HealthOut]:
        container: Container = request.app.state.container
        checks = {"postgres": "ok" if postgres_reachable(container) else "unreachable"}
        if container.nats_url is None:
            checks["nats"] = "not configured"
        else:
            checks["nats"] = "ok" if nats_reachable(container.nats_url) else "unreachable"
        if container.settings.roles_status_file is not None:  # under `up`: its children
            checks.update(role_checks(container.settings.roles_status_file))
        ready = all(v in ("ok",) for v in checks.values())
        return Response(
            HealthOut(status="ready" if ready else "not ready", checks=checks),
            status_code=200 if ready else 503,
        )
