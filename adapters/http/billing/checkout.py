"""POST /v1/billing/checkout and /v1/billing/auto-topup: spending the
customer's card. Both need `settings.write`: charging a card is an account
setting's power, not a reader's, and every key that may change the account's
settings holds it."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.billing.schemas import (
    AutoTopUpOut,
    AutoTopUpRequest,
    CheckoutOut,
    CheckoutRequest,
)
from adapters.http.bodies import Envelope
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from application.billing.auto_topup import AutoTopUp
from application.billing.payments import BillingService
from application.identity.principal import Principal

SPEND_PERMISSION = "settings.write"


class CheckoutController(Controller):
    path = "/v1/billing"
    tags = ["Billing"]

    @post("/checkout", operation_id="createCheckout",
          summary="Start a top-up checkout", status_code=201, sync_to_thread=True)
    def checkout(
        self,
        meta: RequestMeta,
        data: JSONBody[CheckoutRequest],
        principal: NamedDependency[Principal], billing: Service[BillingService],
    ) -> Envelope[CheckoutOut]:
        require_permission(principal, SPEND_PERMISSION)
        started = billing.checkout(
            principal.account_id, data.amount, data.currency, sandbox=principal.sandbox
        )
        return Envelope(
            data=CheckoutOut(
                id=started.id, url=started.url, amount=started.amount_minor,
                currency=started.currency, topup_ref=started.topup_ref,
                sandbox=started.sandbox, credited=started.credited,
            ),
            meta=meta,
        )

    @post("/auto-topup", operation_id="configureAutoTopUp",
          summary="Configure auto top-up", status_code=200,
          sync_to_thread=True)
    def auto_topup(
        self,
        meta: RequestMeta,
        data: JSONBody[AutoTopUpRequest],
        principal: NamedDependency[Principal], auto_topup: Service[AutoTopUp],
    ) -> Envelope[AutoTopUpOut]:
        require_permission(principal, SPEND_PERMISSION)
        rule = auto_topup.configure(
            principal.account_id, sandbox=principal.sandbox, enabled=data.enabled,
            threshold_minor=data.threshold, amount_minor=data.amount,
        )
        return Envelope(
            data=AutoTopUpOut(
                enabled=rule.enabled, threshold=rule.threshold_minor,
                amount=rule.amount_minor, currency=rule.currency, setup_url=rule.setup_url,
            ),
            meta=meta,
        )
