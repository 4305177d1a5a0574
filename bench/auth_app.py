"""The product's app plus one cheap GET handler served twice: at /bench/open
without authentication and at /bench/authed behind the API-key dependency,
its permission check and the rate limiter. Everything else (middleware,
serialisation, uvicorn) is the same, so the difference is what
authentication costs.

    DATABASE_URL=... python -m uvicorn --factory bench.auth_app:create_bench_app
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Litestar, Request, get
from litestar.di import NamedDependency, Provide

from adapters.bootstrap.api import tune_gc
from adapters.bootstrap.container import build
from adapters.config.settings import Settings
from adapters.http.app import create_app
from adapters.http.bodies import Meta
from adapters.http.middleware.auth import authenticate, require_permission
from adapters.http.middleware.request_id import request_id_of
from application.identity.principal import Principal


class Ping(msgspec.Struct):
    ok: bool


class PingResponse(msgspec.Struct):
    data: Ping
    meta: Meta


def _ping(request: Request[Any, Any, Any]) -> PingResponse:
    return PingResponse(Ping(ok=True), Meta(request_id=request_id_of(request.scope)))


class OpenController(Controller):
    path = "/bench"

    @get("/open", operation_id="benchOpen", sync_to_thread=False)
    def open_ping(self, request: Request[Any, Any, Any]) -> PingResponse:
        return _ping(request)


class AuthedController(Controller):
    path = "/bench"
    dependencies = {"principal": Provide(authenticate, sync_to_thread=False)}

    @get("/authed", operation_id="benchAuthed", sync_to_thread=False)
    def authed_ping(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> PingResponse:
        require_permission(principal, "billing.read")
        return _ping(request)


def create_bench_app() -> Litestar:
    settings = Settings.from_env()
    assert settings.database_url is not None, "DATABASE_URL is required"
    container = build(settings, settings.database_url)
    app = create_app(container)
    app.register(OpenController)
    app.register(AuthedController)
    app.on_shutdown.append(container.close)
    tune_gc()
    return app
