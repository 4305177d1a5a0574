"""/v1/sandbox/reset: hide the sandbox's messages and refill its wallet.

POST is the natural verb; GET is answered too, because seed 000's curl for
the reset sends no body and no -X, so it is a GET. Credentials travel in
headers only (no cookies), so a GET cannot be forged by a browser visiting a
link, and a reset repeated is harmless: it refills to the same amount.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency

from adapters.http.bodies import Envelope, Meta
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.settings.schemas import SandboxResetOut
from application.identity.principal import Principal
from application.sending.sandbox import SandboxService


class SandboxController(Controller):
    path = "/v1/sandbox"
    tags = ["Sandbox"]

    @post("/reset", operation_id="resetSandbox",
          summary="Reset the sandbox", status_code=200, sync_to_thread=True)
    def reset(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        sandbox: Service[SandboxService]
    ) -> Envelope[SandboxResetOut]:
        """Acts on the sandbox whatever the key's mode: live data is never touched."""
        return _reset(meta, principal, sandbox)

    @get("/reset", operation_id="resetSandboxByGet",
         summary="Reset the sandbox (GET, as seed 000's curl sends it)", sync_to_thread=True)
    def reset_by_get(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        sandbox: Service[SandboxService]
    ) -> Envelope[SandboxResetOut]:
        """The same reset as POST."""
        return _reset(meta, principal, sandbox)


def _reset(
    meta: Meta, principal: Principal, sandbox: SandboxService
) -> Envelope[SandboxResetOut]:
    require_permission(principal, "sms.send")
    done = sandbox.reset(principal.account_id)
    return Envelope(
        data=SandboxResetOut(
            sandbox=True, reset_at=done.reset_at,
            balance_micros=done.balance.balance_micros, currency=done.balance.currency,
        ),
        meta=meta,
    )
