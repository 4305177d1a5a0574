"""/v1/admin/accounts/{account_id}/rate-overrides: per-country prices that
replace the rate card for one account. Platform operators only.

Sending reads overrides through the accounts' profile cache: the process that
takes the change drops its copy at once, other API processes within
CACHE_TTL_S (10 s) of adapters/postgres/identity/accounts.py.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from adapters.bootstrap.identity import Identity
from adapters.http.bodies import Envelope
from adapters.http.identity.schemas import (
    DoneOut,
    RateOverrideListResponse,
    RateOverrideOut,
    RateOverrideRequest,
)
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_platform_admin
from application.identity.principal import Principal

AccountId = Annotated[str, PathParameter(max_length=64)]
Country = Annotated[str, PathParameter(min_length=2, max_length=2)]


class AdminRateOverridesController(Controller):
    path = "/v1/admin/accounts/{account_id:str}/rate-overrides"
    tags = ["Admin"]

    @get("/", operation_id="adminListRateOverrides",
         summary="Admin: list an account's rate overrides", sync_to_thread=True)
    def list_overrides(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
        account_id: AccountId,
    ) -> RateOverrideListResponse:
        require_platform_admin(principal)
        overrides = identity.account_admin.rate_overrides(account_id)
        return RateOverrideListResponse(
            data=[RateOverrideOut(country=c, price_micros=p) for c, p in overrides.items()],
            meta=meta,
        )

    @put("/{country:str}", operation_id="adminSetRateOverride",
         summary="Admin: set a country rate override", sync_to_thread=True)
    def set_override(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
        account_id: AccountId, country: Country, data: JSONBody[RateOverrideRequest],
    ) -> Envelope[RateOverrideOut]:
        require_platform_admin(principal)
        identity.account_admin.set_rate_override(
            account_id, country, data.price_micros
        )
        return Envelope(
            data=RateOverrideOut(country=country.upper(), price_micros=data.price_micros),
            meta=meta,
        )

    @delete(
        "/{country:str}", operation_id="adminDeleteRateOverride",
        summary="Admin: remove a country rate override", status_code=200,
        sync_to_thread=True,
    )
    def delete_override(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
        account_id: AccountId, country: Country,
    ) -> Envelope[DoneOut]:
        require_platform_admin(principal)
        identity.account_admin.delete_rate_override(account_id, country)
        return Envelope(
            data=DoneOut(ok=True, message="Override removed; the rate card applies"),
            meta=meta,
        )
