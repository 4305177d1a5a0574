"""GET /v1/campaigns/{campaign_id}: the progress of a bulk batch or a campaign
of the key's account and mode."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from adapters.bootstrap import Container
from adapters.http.auth import authenticate, require_permission
from adapters.http.pagination import run_query
from adapters.http.read_schemas import CampaignOut, CampaignResponse, StatusCounts
from adapters.http.request_id import request_id_of
from adapters.http.schemas import Meta
from adapters.postgres.accounts import Principal
from application.errors import NotFound
from domain.money import micros_to_minor_units_ceiling
from projections.campaign_progress import get_campaign


class CampaignsController(Controller):
    path = "/v1/campaigns"
    tags = ["Campaigns"]
    dependencies = {"principal": Provide(authenticate, sync_to_thread=False)}

    @get("/{campaign_id:str}", operation_id="getCampaign",
         summary="Get a campaign", sync_to_thread=True)
    def campaign(
        self,
        request: Request[Any, Any, Any],
        campaign_id: FromPath[str],
        principal: NamedDependency[Principal],
    ) -> CampaignResponse:
        require_permission(principal, "sms.read")
        row = run_query(request, get_campaign, principal.account_id, campaign_id)
        # Until campaign.created is projected the mode is unknown (null), and
        # the campaign is shown to neither mode rather than possibly the wrong one.
        if row is None or row["sandbox"] is not principal.sandbox:
            raise NotFound("No such campaign", campaign_id=campaign_id)
        container: Container = request.app.state.container
        currency = container.accounts.profile(principal.account_id).currency
        return CampaignResponse(
            data=campaign_out(row, currency), meta=Meta(request_id=request_id_of(request.scope))
        )


def campaign_out(row: dict[str, Any], currency: str) -> CampaignOut:
    return CampaignOut(
        id=row["campaign_id"],
        campaign_id=row["campaign_id"],
        kind=row["kind"],
        name=row["name"],
        sender=row["sender"],
        client_ref=row["client_ref"],
        sandbox=bool(row["sandbox"]),
        status=row["status"],
        failure_reason=row["failure_reason"],
        accepted=int(row["accepted"]),
        rejected=int(row["rejected"]),
        messages=StatusCounts(**row["messages"]),
        messages_total=row["messages_total"],
        total_cost_micros=int(row["total_price_micros"]),
        total_cost=micros_to_minor_units_ceiling(int(row["total_price_micros"]), currency),
        currency=currency,
        created_at=row["created_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        failed_at=row["failed_at"],
        updated_at=row["updated_at"],
    )
