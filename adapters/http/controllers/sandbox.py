"""POST /v1/sandbox/reset: hide the sandbox's messages and refill its wallet."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide

from adapters.bootstrap import Container
from adapters.http.auth import authenticate, require_permission
from adapters.http.request_id import request_id_of
from adapters.http.schemas import Meta
from adapters.http.surface_schemas import SandboxResetOut, SandboxResetResponse
from adapters.postgres.accounts import Principal


class SandboxController(Controller):
    path = "/v1/sandbox"
    tags = ["Sandbox"]
    dependencies = {"principal": Provide(authenticate, sync_to_thread=False)}

    @post("/reset", operation_id="resetSandbox",
          summary="Reset the sandbox", status_code=200, sync_to_thread=True)
    def reset(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> SandboxResetResponse:
        """Acts on the sandbox whatever the key's mode: live data is never touched."""
        require_permission(principal, "sms.send")
        container: Container = request.app.state.container
        done = container.sandbox.reset(principal.account_id)
        return SandboxResetResponse(
            data=SandboxResetOut(
                sandbox=True, reset_at=done.reset_at,
                balance_micros=done.balance.balance_micros, currency=done.balance.currency,
            ),
            meta=Meta(request_id=request_id_of(request.scope)),
        )
