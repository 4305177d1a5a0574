"""GET /v1/billing/balance: the live wallet of the key's account."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide

from adapters.bootstrap import Container
from adapters.http.auth import authenticate
from adapters.http.request_id import request_id_of
from adapters.http.schemas import BalanceOut, BalanceResponse, Meta
from adapters.postgres.accounts import Principal
from domain import ids
from domain.money import micros_to_minor_units, micros_to_minor_units_ceiling


class BillingController(Controller):
    path = "/v1/billing"
    tags = ["Billing"]
    dependencies = {"principal": Provide(authenticate, sync_to_thread=False)}

    @get("/balance", operation_id="getBalance", sync_to_thread=True)
    def balance(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> BalanceResponse:
        container: Container = request.app.state.container
        wallet_id = ids.wallet_id(principal.account_id, sandbox=principal.sandbox)
        b = container.wallets.balance(wallet_id)

        def minor(amount_micros: int) -> int:
            return micros_to_minor_units(amount_micros, b.currency)

        return BalanceResponse(
            data=BalanceOut(
                balance=minor(b.balance_micros),
                reserved=micros_to_minor_units_ceiling(b.reserved_micros, b.currency),
                credit_limit=minor(b.credit_limit_micros),
                available=minor(b.available_micros),
                low_balance_threshold=minor(b.low_balance_threshold_micros),
                balance_micros=b.balance_micros,
                reserved_micros=b.reserved_micros,
                credit_limit_micros=b.credit_limit_micros,
                available_micros=b.available_micros,
                low_balance_threshold_micros=b.low_balance_threshold_micros,
                currency=b.currency,
                sandbox=principal.sandbox,
                auto_topup_enabled=False,
            ),
            meta=Meta(request_id=request_id_of(request.scope)),
        )
