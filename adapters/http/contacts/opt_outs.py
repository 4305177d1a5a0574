"""/v1/contacts/opt-outs: the numbers the account may not send to, from the
append-only opt-out log (STOP replies, and opt-outs recorded here)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.bodies import Envelope, Page
from adapters.http.contacts.schemas import OptOutIn, OptOutOut
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageSize,
    page_of,
    run_query,
)
from adapters.postgres.contacts.opt_out_list import latest_opt_out, list_opt_outs
from adapters.postgres.read_models import ReadModels
from application.contacts.service import ContactService
from application.identity.principal import Principal


def opt_out_out(row: dict[str, Any]) -> OptOutOut:
    return OptOutOut(phone=row["phone"], source=row["source"], keyword=row["keyword"],
                     opted_out_at=row["created_at"])


class OptOutsController(Controller):
    path = "/v1/contacts/opt-outs"
    tags = ["Contacts"]

    @get("/", operation_id="listOptOuts", summary="List opt-outs", sync_to_thread=True)
    def opt_outs(self, meta: RequestMeta, principal: NamedDependency[Principal],
        read_models: Service[ReadModels],
                 page_size: PageSize = DEFAULT_PAGE_SIZE,
                 cursor: PageCursor = None) -> Page[OptOutOut]:
        """Numbers opted out now, newest first, with the source and time."""
        require_permission(principal, "contacts.read")
        result = run_query(read_models, list_opt_outs, principal.account_id, page_size=page_size,
                           cursor_token=cursor)
        return page_of(opt_out_out, result, page_size, meta)

    @post("/", operation_id="createOptOut",
          summary="Opt a number out", status_code=201, sync_to_thread=True)
    def opt_out(self, meta: RequestMeta, data: JSONBody[OptOutIn],
                principal: NamedDependency[Principal],
                contacts: Service[ContactService],
                read_models: Service[ReadModels]) -> Envelope[OptOutOut]:
        """Opt a number out of this account's messages (it stays in its groups)."""
        require_permission(principal, "contacts.write")
        number = contacts.opt_out(principal.account_id, data.phone, data.source)
        row = run_query(read_models, latest_opt_out, principal.account_id, number)
        assert row is not None
        return Envelope(opt_out_out(row), meta)
