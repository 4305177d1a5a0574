"""Campaign commands: create, recipients, submit, pause, resume, cancel
(sms.send), and the operators' approve and reject (/v1/admin/campaigns).

Each answers with the campaign as its own events leave it, so a client sees
its command's effect at once; GET /v1/campaigns/{id} shows progress from the
read model, a moment behind.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.bodies import Envelope, Meta
from adapters.http.campaigns.schemas import (
    CampaignCreateIn,
    CampaignRecipientsIn,
    CampaignStateOut,
    InvalidRecipientOut,
    RecipientsAddedOut,
    ReviewIn,
)
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission, require_platform_admin
from adapters.http.sms.audience import audience_of
from application.campaigns.commands import CampaignService, CreateCampaign
from application.errors import ValidationFailed
from application.identity.principal import Principal
from application.sending.resolution import SendResolver
from application.sending.send import BulkRecipient
from domain.campaign import Campaign


def state_out(campaign: Campaign) -> CampaignStateOut:
    return CampaignStateOut(
        id=str(campaign.id), name=campaign.name, status=str(campaign.status),
        reason=campaign.reason, sender=campaign.sender, body=campaign.body,
        schedule_at=campaign.scheduled_at, client_ref=campaign.client_ref,
        sandbox=campaign.sandbox, listed=campaign.listed, recipients=campaign.recipients,
        processed=campaign.processed, accepted=campaign.accepted, rejected=campaign.rejected,
        opted_out=campaign.opted_out, cost_micros=campaign.total_price_micros,
    )


def _respond(meta: Meta, campaign: Campaign) -> Envelope[CampaignStateOut]:
    return Envelope(state_out(campaign), meta)


def create_campaign(
    meta: Meta, data: CampaignCreateIn, principal: Principal,
    send_resolver: SendResolver, campaigns: CampaignService,
) -> Envelope[CampaignStateOut]:
    require_permission(principal, "sms.send")
    # The executor sends through the messaging service directly, so the
    # sender ID and the template are settled here, once, for the campaign.
    body = send_resolver.resolve(
        principal.account_id, sender=data.sender, body=data.body,
        template_id=data.template_id, sandbox=principal.sandbox,
    )
    campaign = campaigns.create(CreateCampaign(
        account_id=principal.account_id, sandbox=principal.sandbox, name=data.name,
        sender=data.sender, body=body, client_ref=data.client_ref,
        scheduled_at=data.schedule_at, unicode=data.unicode,
    ))
    return _respond(meta, campaign)


def _account_command(
    meta: Meta, principal: Principal, campaign_id: UUID,
    command: Callable[[str, bool, UUID, str], Campaign],
) -> Envelope[CampaignStateOut]:
    """A change of state the account asks for (submit, pause, resume, cancel):
    the same permission, the same arguments, the same answer."""
    require_permission(principal, "sms.send")
    return _respond(
        meta, command(principal.account_id, principal.sandbox, campaign_id, _actor(principal))
    )


def _actor(principal: Principal) -> str:
    """Who did it, as the campaign's events record it."""
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    return f"key:{principal.key_id}"


class CampaignCommandsController(Controller):
    path = "/v1/campaigns"
    tags = ["Campaigns"]

    @post("/{campaign_id:uuid}/recipients", operation_id="addCampaignRecipients",
          summary="Add recipients to a draft campaign",
          status_code=200, sync_to_thread=True)
    def recipients(self, meta: RequestMeta, campaign_id: FromPath[UUID],
                   data: JSONBody[CampaignRecipientsIn],
                   principal: NamedDependency[Principal],
                   campaigns: Service[CampaignService]) -> Envelope[RecipientsAddedOut]:
        """Numbers with variables, groups, contacts or all contacts, onto a
        draft's list; call as often as needed. A number listed twice is kept once."""
        require_permission(principal, "sms.send")
        audience = audience_of(data)
        if not data.recipients and audience.empty:
            raise ValidationFailed(
                "Name recipients, groupId, groupIds, contactIds or sendToAllContacts"
            )
        added = campaigns.add_recipients(
            principal.account_id, principal.sandbox, campaign_id,
            [BulkRecipient(r.to, r.variables or {}) for r in data.recipients], audience,
        )
        return Envelope(
            RecipientsAddedOut(
                added=added.added, duplicates=added.duplicates, invalid=added.invalid,
                invalid_recipients=[InvalidRecipientOut(i.index, i.to, i.reason)
                                    for i in added.invalid_recipients],
                listed=added.listed,
            ),
            meta,
        )

    @post("/{campaign_id:uuid}/submit", operation_id="submitCampaign",
          summary="Submit a campaign for approval", status_code=200,
          sync_to_thread=True)
    def submit(self, meta: RequestMeta, campaign_id: FromPath[UUID],
               principal: NamedDependency[Principal],
               campaigns: Service[CampaignService]) -> Envelope[CampaignStateOut]:
        """To pending_approval (approved at once for a trusted account)."""
        return _account_command(meta, principal, campaign_id, campaigns.submit)

    @post("/{campaign_id:uuid}/pause", operation_id="pauseCampaign",
          summary="Pause a sending campaign", status_code=200,
          sync_to_thread=True)
    def pause(self, meta: RequestMeta, campaign_id: FromPath[UUID],
              principal: NamedDependency[Principal],
              campaigns: Service[CampaignService]) -> Envelope[CampaignStateOut]:
        """No new chunk starts; messages already queued may still go."""
        return _account_command(meta, principal, campaign_id, campaigns.pause)

    @post("/{campaign_id:uuid}/resume", operation_id="resumeCampaign",
          summary="Resume a paused campaign", status_code=200,
          sync_to_thread=True)
    def resume(self, meta: RequestMeta, campaign_id: FromPath[UUID],
               principal: NamedDependency[Principal],
               campaigns: Service[CampaignService]) -> Envelope[CampaignStateOut]:
        """Continue after the last recipient sent."""
        return _account_command(meta, principal, campaign_id, campaigns.resume)

    @post("/{campaign_id:uuid}/cancel", operation_id="cancelCampaign",
          summary="Cancel a campaign", status_code=200,
          sync_to_thread=True)
    def cancel(self, meta: RequestMeta, campaign_id: FromPath[UUID],
               principal: NamedDependency[Principal],
               campaigns: Service[CampaignService]) -> Envelope[CampaignStateOut]:
        """Stops it for good; messages not yet submitted are cancelled and
        their reservations released."""
        return _account_command(meta, principal, campaign_id, campaigns.cancel)


class AdminCampaignsController(Controller):
    path = "/v1/admin/campaigns"
    tags = ["Admin"]

    @post("/{campaign_id:uuid}/approve", operation_id="approveCampaign",
          summary="Approve a campaign (operators)", status_code=200,
          sync_to_thread=True)
    def approve(self, meta: RequestMeta, campaign_id: FromPath[UUID],
                principal: NamedDependency[Principal], campaigns: Service[CampaignService],
                data: JSONBody[ReviewIn | None] = None) -> Envelope[CampaignStateOut]:
        require_platform_admin(principal)
        return _respond(meta, campaigns.approve(campaign_id, _actor(principal)))

    @post("/{campaign_id:uuid}/reject", operation_id="rejectCampaign",
          summary="Reject a campaign (operators)", status_code=200,
          sync_to_thread=True)
    def reject(self, meta: RequestMeta, campaign_id: FromPath[UUID],
               data: JSONBody[ReviewIn], principal: NamedDependency[Principal],
               campaigns: Service[CampaignService]
               ) -> Envelope[CampaignStateOut]:
        require_platform_admin(principal)
        if data.reason is None:
            raise ValidationFailed("A rejection needs a reason")
        return _respond(meta, campaigns.reject(
            campaign_id, _actor(principal), data.reason))
