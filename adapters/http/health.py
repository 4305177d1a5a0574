"""Liveness and readiness, without authentication."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import msgspec
from litestar import Controller, Response, get
from litestar.openapi import ResponseSpec

from adapters.http.injected import Service
from adapters.postgres.readiness import DatabaseProbe
from adapters.runtime.roles_status import role_checks

CHECK_TIMEOUT_S = 2.0


class HealthOut(msgspec.Struct):
    status: str
    checks: dict[str, str]


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


@dataclass(frozen=True, slots=True)
class Readiness:
    """What /readyz checks: the database, NATS when configured, and the
    children of `up` when it runs under it."""

    database: DatabaseProbe
    nats_url: str | None
    roles_status_file: Path | None

    def checks(self) -> dict[str, str]:
        checks = {"postgres": "ok" if self.database.reachable(CHECK_TIMEOUT_S) else "unreachable"}
        if self.nats_url is None:
            checks["nats"] = "not configured"
        else:
            checks["nats"] = "ok" if nats_reachable(self.nats_url) else "unreachable"
        if self.roles_status_file is not None:  # under `up`: its children
            checks.update(role_checks(self.roles_status_file))
        return checks


class HealthController(Controller):
    tags = ["Health"]

    @get("/healthz", operation_id="getHealth", summary="Liveness check", sync_to_thread=False)
    def healthz(self) -> HealthOut:
        return HealthOut(status="ok", checks={})

    @get("/readyz", operation_id="getReadiness",
         summary="Readiness check (database reachable)", sync_to_thread=True,
         responses={503: ResponseSpec(HealthOut, description="Not ready: see checks")})
    def readyz(self, readiness: Service[Readiness]) -> Response[HealthOut]:
        checks = readiness.checks()
        ready = all(v in ("ok",) for v in checks.values())
        return Response(
            HealthOut(status="ready" if ready else "not ready", checks=checks),
            status_code=200 if ready else 503,
        )
