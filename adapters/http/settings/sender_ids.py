"""/v1/settings/sender-ids: an account's sender ID requests and their status."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.bodies import Envelope, Page
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import DEFAULT_PAGE_SIZE, PageCursor, PageSize, page_of
from adapters.http.settings.schemas import SenderIdOut, SenderIdRequest, sender_id_out
from application.identity.principal import Principal
from application.settings.sender_ids import SenderIdService


class SenderIdsController(Controller):
    path = "/v1/settings/sender-ids"
    tags = ["Settings"]

    @get("/", operation_id="listSenderIds", summary="List sender IDs", sync_to_thread=True)
    def list_sender_ids(
        self,
        meta: RequestMeta,
        principal: NamedDependency[Principal], sender_ids: Service[SenderIdService],
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> Page[SenderIdOut]:
        found = sender_ids.page(principal.account_id, page_size, cursor)
        return page_of(sender_id_out, found, page_size, meta)

    @post("/", operation_id="requestSenderId",
          summary="Request a sender ID", status_code=201, sync_to_thread=True)
    def request_sender_id(
        self,
        meta: RequestMeta,
        data: JSONBody[SenderIdRequest],
        principal: NamedDependency[Principal], sender_ids: Service[SenderIdService],
    ) -> Envelope[SenderIdOut]:
        """Ask for a sender ID; it is pending until a platform operator decides."""
        require_permission(principal, "settings.write")
        record = sender_ids.request(principal.account_id, data.sender_id, data.purpose)
        return Envelope(
            data=sender_id_out(record), meta=meta
        )
