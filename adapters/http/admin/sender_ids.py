"""/v1/admin/sender-ids/{id}/approve and /reject: platform operators decide
sender ID requests. Never reachable with an API key."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.bodies import Envelope
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_platform_admin
from adapters.http.settings.schemas import RejectSenderIdRequest, SenderIdOut, sender_id_out
from application.identity.principal import Principal
from application.settings.sender_ids import SenderIdService


class AdminSenderIdsController(Controller):
    path = "/v1/admin/sender-ids"
    tags = ["Admin"]

    @post("/{sender_id_request:uuid}/approve", operation_id="approveSenderId",
          summary="Admin: approve a sender ID", status_code=200,
          sync_to_thread=True)
    def approve(
        self,
        meta: RequestMeta,
        sender_id_request: FromPath[UUID],
        principal: NamedDependency[Principal], sender_ids: Service[SenderIdService],
    ) -> Envelope[SenderIdOut]:
        operator = require_platform_admin(principal)
        record = sender_ids.approve(sender_id_request, operator=operator.user_id)
        return Envelope(
            data=sender_id_out(record), meta=meta
        )

    @post("/{sender_id_request:uuid}/reject", operation_id="rejectSenderId",
          summary="Admin: reject a sender ID", status_code=200,
          sync_to_thread=True)
    def reject(
        self,
        meta: RequestMeta,
        sender_id_request: FromPath[UUID],
        data: JSONBody[RejectSenderIdRequest],
        principal: NamedDependency[Principal], sender_ids: Service[SenderIdService],
    ) -> Envelope[SenderIdOut]:
        operator = require_platform_admin(principal)
        record = sender_ids.reject(
            sender_id_request, data.reason, operator=operator.user_id
        )
        return Envelope(
            data=sender_id_out(record), meta=meta
        )
