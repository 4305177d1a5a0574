"""POST /v1/sms/send and POST /v1/sms/bulk."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.bodies import Envelope, Meta
from adapters.http.callback_urls import checked_callback_url
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.middleware.sandbox_mode import scoped_idempotency_key
from adapters.http.sms.audience_controller import AudienceSendOut, send_to_audience, wants_audience
from adapters.http.sms.schemas import (
    BulkAcceptedOut,
    BulkRejection,
    BulkSmsRequest,
    CancelledOut,
    EstimateOut,
    EstimateRejection,
    EstimateRequest,
    SendSmsRequest,
    SendTerms,
    SentManyOut,
    SentSms,
)
from adapters.webhooks.ssrf import UrlGuard
from application.delivery.outcomes import OutcomeService
from application.errors import ValidationFailed
from application.identity.principal import Principal
from application.sending.audience import AudienceResolver
from application.sending.estimate import EstimateRequest as EstimateCommand
from application.sending.estimate import Estimator
from application.sending.outgoing import Outgoing
from application.sending.resolution import SendResolver
from application.sending.send import BulkRecipient, MessagingService
from domain.money import micros_to_decimal, micros_to_minor_units_ceiling


class SmsController(Controller):
    path = "/v1/sms"
    tags = ["SMS"]

    @post("/send", operation_id="sendSms",
          summary="Send an SMS", status_code=200, sync_to_thread=True)
    def send(
        self,
        request: Request[Any, Any, Any], meta: RequestMeta,
        data: JSONBody[SendSmsRequest],
        principal: NamedDependency[Principal],
        webhook_guard: Service[UrlGuard],
        messaging: Service[MessagingService], send_resolver: Service[SendResolver],
        audience: Service[AudienceResolver],
    ) -> Envelope[SentSms] | Envelope[SentManyOut] | Envelope[AudienceSendOut]:
        """Send one message, or one per number when `to` is an array. Also
        accepts a form-encoded body with the same fields."""
        require_permission(principal, "sms.send")
        outgoing = _outgoing(request, principal, data, send_resolver, webhook_guard)
        if wants_audience(data):
            numbers = data.to if isinstance(data.to, list) else [data.to] if data.to else []
            return send_to_audience(
                meta, audience, messaging, principal, data,
                [BulkRecipient(n, data.variables or {}) for n in numbers], outgoing,
            )
        if data.to is None:
            raise ValidationFailed(
                "to is required (or groupId, groupIds, contactIds or sendToAllContacts)",
                field="to")
        if isinstance(data.to, list):
            return send_to_many(meta, messaging, data, outgoing)
        sent = messaging.send(outgoing.to_one(data.to, data.variables))
        return Envelope(
            data=SentSms(
                id=str(sent.message_id),
                messageId=str(sent.message_id),
                message_id=str(sent.message_id),
                status=sent.status,
                to=sent.destination,
                segments=sent.segments,
                encoding=sent.encoding,
                cost_micros=sent.price_micros,
                cost=float(micros_to_decimal(sent.price_micros)),
                currency=sent.currency,
                client_ref=data.client_ref,
                sandbox=principal.sandbox,
            ),
            meta=meta,
        )

    @post("/bulk", operation_id="sendBulkSms",
          summary="Send one body to many recipients", status_code=200, sync_to_thread=True)
    def bulk(
        self,
        request: Request[Any, Any, Any], meta: RequestMeta,
        data: JSONBody[BulkSmsRequest],
        principal: NamedDependency[Principal],
        webhook_guard: Service[UrlGuard],
        messaging: Service[MessagingService], send_resolver: Service[SendResolver],
        audience: Service[AudienceResolver],
    ) -> Envelope[BulkAcceptedOut] | Envelope[AudienceSendOut]:
        require_permission(principal, "sms.send")
        outgoing = _outgoing(request, principal, data, send_resolver, webhook_guard)
        explicit = [BulkRecipient(r.to, r.variables or {}) for r in data.recipients]
        if wants_audience(data):
            return send_to_audience(
                meta, audience, messaging, principal, data, explicit, outgoing)
        if not explicit:
            raise ValidationFailed(
                "recipients is required (1 to 10,000), or groupId, groupIds, contactIds or"
                " sendToAllContacts", field="recipients")
        accepted = messaging.send_bulk(outgoing.to_many(explicit))
        return Envelope(
            data=BulkAcceptedOut(
                batch_id=str(accepted.batch_id),
                accepted=accepted.accepted,
                rejected=len(accepted.rejections),
                rejections=[
                    BulkRejection(r.index, r.to, r.code, r.reason) for r in accepted.rejections
                ],
                cost_estimate=micros_to_minor_units_ceiling(
                    accepted.cost_micros, accepted.currency
                ),
                cost_estimate_micros=accepted.cost_micros,
                currency=accepted.currency,
                status=accepted.status,
                statuses=accepted.status_counts(),
                sandbox=principal.sandbox,
            ),
            meta=meta,
        )

    @post(
        "/{message_id:uuid}/cancel",
        operation_id="cancelMessage", summary="Cancel a scheduled message",
        status_code=200,
        sync_to_thread=True,
    )
    def cancel(
        self,
        meta: RequestMeta,
        message_id: FromPath[UUID],
        principal: NamedDependency[Principal], outcomes: Service[OutcomeService],
    ) -> Envelope[CancelledOut]:
        require_permission(principal, "sms.send")
        message = outcomes.cancel(
            principal.account_id, message_id, sandbox=principal.sandbox
        )
        return Envelope(
            data=CancelledOut(id=str(message.id), status=str(message.status),
                              sandbox=principal.sandbox),
            meta=meta,
        )

    @post("/estimate", operation_id="estimateSms",
          summary="Estimate parts and cost of a send", status_code=200, sync_to_thread=True)
    def estimate(
        self,
        meta: RequestMeta,
        data: JSONBody[EstimateRequest],
        principal: NamedDependency[Principal], estimator: Service[Estimator],
    ) -> Envelope[EstimateOut]:
        """What a send would cost and whether the wallet can pay; charges nothing."""
        require_permission(principal, "sms.send")
        tos = [data.to] if isinstance(data.to, str) else data.to
        estimate = estimator.estimate(EstimateCommand(
            principal.account_id, tos, data.body, data.variables or {}, data.unicode,
            principal.sandbox,
        ))
        return Envelope(
            data=EstimateOut(
                recipients=estimate.recipients, length=estimate.length,
                parts=estimate.segments, encoding=estimate.encoding,
                cost_micros=estimate.cost_micros,
                cost=float(micros_to_decimal(estimate.cost_micros)),
                currency=estimate.currency, balance_micros=estimate.balance_micros,
                available_micros=estimate.available_micros, canAfford=estimate.can_afford,
                rejected=[EstimateRejection(r.index, r.to, r.code, r.reason)
                          for r in estimate.rejections],
                sandbox=principal.sandbox,
            ),
            meta=meta,
        )


def _outgoing(
    request: Request[Any, Any, Any], principal: Principal, data: SendTerms,
    send_resolver: SendResolver, webhook_guard: UrlGuard,
) -> Outgoing:
    """The send a request states, whether it goes to one number or many: its
    body resolved (a template's, the sender ID checked), its callback URL
    checked."""
    body = send_resolver.resolve(
        principal.account_id, sender=data.sender, body=data.body,
        template_id=data.template_id, sandbox=principal.sandbox,
    )
    return Outgoing(
        account_id=principal.account_id, sandbox=principal.sandbox, sender=data.sender,
        body=body, client_ref=data.client_ref, unicode=data.unicode,
        validity_minutes=data.validity_minutes,
        idempotency_key=_idempotency_key(request, principal),
        scheduled_at=data.scheduled_at,
        callback_url=checked_callback_url(webhook_guard, data.callback_url),
    )


def _idempotency_key(request: Request[Any, Any, Any], principal: Principal) -> str | None:
    """The key message ids derive from, scoped to the request's mode."""
    return scoped_idempotency_key(
        request.headers.get("idempotency-key"), sandbox=principal.sandbox
    )


def send_to_many(
    meta: Meta, messaging: MessagingService, data: SendSmsRequest,
    outgoing: Outgoing,
) -> Envelope[SentManyOut]:
    """`to` as an array: one batch, accepted (or refused) in one transaction,
    answered with a line per message."""
    assert isinstance(data.to, list)
    variables = data.variables or {}
    accepted = messaging.send_bulk(
        outgoing.to_many([BulkRecipient(to, variables) for to in data.to]))
    return Envelope(
        data=SentManyOut(
            batch_id=str(accepted.batch_id),
            accepted=accepted.accepted,
            rejected=len(accepted.rejections),
            messages=[
                SentSms(
                    id=str(m.message_id), messageId=str(m.message_id),
                    message_id=str(m.message_id), status=status,
                    to=m.destination, segments=m.segments, encoding=m.encoding,
                    cost_micros=m.price_micros, cost=float(micros_to_decimal(m.price_micros)),
                    currency=accepted.currency, client_ref=data.client_ref,
                    sandbox=outgoing.sandbox,
                )
                for m, status in zip(accepted.messages, accepted.statuses, strict=True)
            ],
            rejections=[
                BulkRejection(r.index, r.to, r.code, r.reason) for r in accepted.rejections
            ],
            cost_micros=accepted.cost_micros,
            cost=float(micros_to_decimal(accepted.cost_micros)),
            currency=accepted.currency,
            status=accepted.status,
            statuses=accepted.status_counts(),
            sandbox=outgoing.sandbox,
        ),
        meta=meta,
    )
