"""GET /v1/inbound: messages received from the account's recipients."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from adapters.http.bodies import Page
from adapters.http.injected import RequestMeta, Service
from adapters.http.messages.schemas import InboundOut
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import pagination, run_query
from adapters.postgres.read_models import ReadModels
from application.identity.principal import Principal
from projections.inbound import list_inbound


class InboundController(Controller):
    path = "/v1/inbound"
    tags = ["Inbound"]

    @get("/", operation_id="listInbound", summary="List inbound messages", sync_to_thread=True)
    def list_inbound(
        self,
        meta: RequestMeta,
        principal: NamedDependency[Principal], read_models: Service[ReadModels],
        page_size: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> Page[InboundOut]:
        require_permission(principal, "sms.read")
        result = run_query(
            read_models, list_inbound, principal.account_id, page_size=page_size,
            cursor_token=cursor,
        )
        rows = result[0] if not principal.sandbox else []  # replies reach live numbers only
        return Page(
            data=[
                InboundOut(
                    id=row["inbound_id"], direction="incoming", carrier=row["carrier"],
                    from_=row["source"], to=row["destination"], body=row["body"],
                    received_at=row["received_at"],
                )
                for row in rows
            ],
            pagination=pagination(page_size, result),
            meta=meta,
        )
