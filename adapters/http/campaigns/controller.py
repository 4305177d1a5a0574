"""GET /v1/campaigns and GET /v1/campaigns/{campaign_id}: the progress of the
bulk batches and campaigns of the key's account and mode, from the read
model (sms.read or reports.read)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.bodies import Envelope, Page
from adapters.http.campaigns.commands import create_campaign
from adapters.http.campaigns.schemas import CampaignCreateIn, CampaignOut, CampaignStateOut
from adapters.http.injected import RequestMeta, Service
from adapters.http.messages.schemas import StatusCounts
from adapters.http.pagination import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageSize,
    page_of,
    run_query,
)
from adapters.postgres.identity.accounts import PostgresAccounts
from adapters.postgres.read_models import ReadModels
from application.campaigns.commands import CampaignService
from application.errors import NotFound
from application.identity.principal import Principal
from application.sending.resolution import SendResolver
from domain.money import micros_to_minor_units_ceiling
from projections.campaign_progress import get_campaign, list_campaigns

KindFilter = Annotated[str | None, QueryParameter(description="batch or campaign")]
StatusFilter = Annotated[str | None, QueryParameter(
    description="draft, pending_approval, approved, rejected, running, sending, paused, "
    "completed, cancelled or failed")]


def require_reader(principal: Principal) -> None:
    if not {"sms.read", "reports.read"} & principal.permissions:
        raise PermissionDeniedException("This credential lacks the sms.read permission")


class CampaignsController(Controller):
    path = "/v1/campaigns"
    tags = ["Campaigns"]

    @get("/", operation_id="listCampaigns", summary="List campaigns", sync_to_thread=True)
    def campaigns(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        read_models: Service[ReadModels], accounts: Service[PostgresAccounts],
        kind: KindFilter = None, status: StatusFilter = None,
        page_size: PageSize = DEFAULT_PAGE_SIZE, cursor: PageCursor = None,
    ) -> Page[CampaignOut]:
        """Newest first."""
        require_reader(principal)
        result = run_query(read_models, list_campaigns, principal.account_id,
                           sandbox=principal.sandbox, kind=kind, status=status,
                           page_size=page_size, cursor_token=cursor)
        currency = _currency(accounts, principal)
        return page_of(lambda row: campaign_out(row, currency), result, page_size, meta)

    @post("/", operation_id="createCampaign", summary="Create a draft campaign",
          status_code=201, sync_to_thread=True)
    def create(self, meta: RequestMeta, data: JSONBody[CampaignCreateIn],
               principal: NamedDependency[Principal],
               campaigns: Service[CampaignService],
               send_resolver: Service[SendResolver]) -> Envelope[CampaignStateOut]:
        """A draft: name, from, body (with {{variables}}), and schedule_at or at
        once (sms.send). Recipients, submission and control are below."""
        return create_campaign(meta, data, principal, send_resolver, campaigns)

    @get("/{campaign_id:str}", operation_id="getCampaign",
         summary="Get a campaign", sync_to_thread=True)
    def campaign(
        self,
        meta: RequestMeta,
        campaign_id: FromPath[str],
        principal: NamedDependency[Principal],
        read_models: Service[ReadModels], accounts: Service[PostgresAccounts],
    ) -> Envelope[CampaignOut]:
        require_reader(principal)
        row = run_query(read_models, get_campaign, principal.account_id, campaign_id)
        # Until campaign.created is projected the mode is unknown (null), and
        # the campaign is shown to neither mode rather than possibly the wrong one.
        if row is None or row["sandbox"] is not principal.sandbox:
            raise NotFound("No such campaign", campaign_id=campaign_id)
        return Envelope(
            data=campaign_out(row, _currency(accounts, principal)),
            meta=meta,
        )


def _currency(accounts: PostgresAccounts, principal: Principal) -> str:
    return accounts.profile(principal.account_id).currency


def eta_seconds(row: dict[str, Any], now: datetime) -> int | None:
    """While sending: the recipients left at the rate so far (paused time
    not counted)."""
    processed = int(row["accepted"]) + int(row["rejected"])
    remaining = int(row["recipients"]) - processed
    since = row["sending_since"]
    if row["status"] != "sending" or since is None or processed <= 0 or remaining <= 0:
        return None
    elapsed_s: float = float(row["sending_seconds"]) + max(0.0, (now - since).total_seconds())
    return math.ceil(remaining * elapsed_s / processed)


def campaign_out(row: dict[str, Any], currency: str) -> CampaignOut:
    cost_micros = int(row["total_price_micros"])
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
        total_cost_micros=cost_micros,
        total_cost=micros_to_minor_units_ceiling(cost_micros, currency),
        currency=currency,
        created_at=row["created_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        failed_at=row["failed_at"],
        updated_at=row["updated_at"],
        schedule_at=row["scheduled_at"],
        reason=row["reason"],
        listed=int(row["listed"]),
        recipients=int(row["recipients"]),
        processed=int(row["accepted"]) + int(row["rejected"]),
        opted_out=int(row["opted_out"]),
        cost_so_far_micros=cost_micros,
        cost_so_far=micros_to_minor_units_ceiling(cost_micros, currency),
        eta_seconds=eta_seconds(row, datetime.now(UTC)),
        submitted_at=row["submitted_at"],
        approved_at=row["approved_at"],
        rejected_at=row["rejected_at"],
        paused_at=row["paused_at"],
        cancelled_at=row["cancelled_at"],
    )
