"""GET /v1/reports/messages and GET /v1/reports/dlr-stats, for the key's
account and mode."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from adapters.http.bodies import Envelope, Page
from adapters.http.injected import RequestMeta, Service
from adapters.http.messages.controller import (
    CampaignFilter,
    MessageQuery,
    message_page,
    message_query,
)
from adapters.http.messages.schemas import DlrBreakdownOut, DlrStatsOut, MessageOut, StatusCounts
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import (
    RangeEnd,
    RangeStart,
    date_range,
    run_query,
)
from adapters.postgres.read_models import ReadModels
from application.errors import ValidationFailed
from application.identity.principal import Principal
from application.sending.sandbox import SandboxService
from projections.dlr_stats import dlr_stats

CountryFilter = Annotated[
    str | None, QueryParameter(description="ISO 3166 alpha-2 destination country, e.g. GB")
]
COUNTRY_CODE_LENGTH = 2


class ReportsController(Controller):
    path = "/v1/reports"
    tags = ["Reports"]

    @get("/messages", operation_id="listMessageReports",
         summary="Message report", sync_to_thread=True,
         dependencies={"filters": Provide(message_query, sync_to_thread=False)})
    def messages(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        read_models: Service[ReadModels], sandbox: Service[SandboxService],
        filters: NamedDependency[MessageQuery],
    ) -> Page[MessageOut]:
        require_permission(principal, "reports.read")
        return message_page(meta, principal, read_models, sandbox, filters)

    @get("/dlr-stats", operation_id="getDlrStats",
         summary="Delivery-report statistics", sync_to_thread=True)
    def delivery_stats(
        self,
        meta: RequestMeta,
        principal: NamedDependency[Principal], read_models: Service[ReadModels],
        from_date: RangeStart = None,
        to_date: RangeEnd = None,
        country: CountryFilter = None,
        campaign_id: CampaignFilter = None,
    ) -> Envelope[DlrStatsOut]:
        require_permission(principal, "reports.read")
        dates = date_range(from_date, to_date)
        stats = run_query(read_models, dlr_stats, principal.account_id,
            from_date=dates.start, to_date=dates.end, country=_country(country),
            campaign_id=campaign_id, sandbox=principal.sandbox,
        )
        return Envelope(
            data=dlr_stats_out(stats), meta=meta
        )


def _country(country: str | None) -> str | None:
    if country is None:
        return None
    code = country.strip().upper()
    if len(code) != COUNTRY_CODE_LENGTH or not code.isalpha() or not code.isascii():
        raise ValidationFailed("country must be an ISO 3166 alpha-2 code", country=country)
    return code


def _rate(rate: str | None) -> float | None:
    return None if rate is None else float(rate)


def dlr_stats_out(stats: dict[str, Any]) -> DlrStatsOut:
    return DlrStatsOut(
        totals=StatusCounts(**stats["totals"]),
        total=stats["total"],
        delivery_rate=_rate(stats["delivery_rate"]),
        median_delivery_ms=stats["median_delivery_ms"],
        breakdown=[
            DlrBreakdownOut(
                day=cell["day"],
                country=cell["country"],
                counts=StatusCounts(**cell["counts"]),
                total=cell["total"],
                delivery_rate=_rate(cell["delivery_rate"]),
            )
            for cell in stats["breakdown"]
        ],
    )
