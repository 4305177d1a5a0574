"""GET /v1/sms/{message_id} and GET /v1/sms: the message log of the key's
account and mode (a sandbox key sees only sandbox messages, a live key only
live ones). /v1/reports/messages lists through `message_page` too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter

from adapters.eventstore.unprojected import UnprojectedMessages
from adapters.http.bodies import Envelope, Meta, Page
from adapters.http.injected import RequestMeta, Service
from adapters.http.messages.schemas import MessageDetailOut, MessageEventOut, MessageOut
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageSize,
    RangeEnd,
    RangeStart,
    date_range,
    destination_filter,
    page_of,
    run_query,
)
from adapters.postgres.read_models import ReadModels
from application.errors import NotFound, check_text
from application.identity.principal import Principal
from application.sending.sandbox import SandboxService
from domain.money import micros_to_decimal
from projections.message_log import get_message, list_messages

Row = dict[str, Any]

StatusFilter = Annotated[
    str | None,
    QueryParameter(
        description="queued, sent, delivered, failed, expired, rejected, cancelled or scheduled"
    ),
]
CampaignFilter = Annotated[str | None, QueryParameter(description="A batch or campaign id")]
DestinationFilter = Annotated[
    str | None, QueryParameter(description="An E.164 number, matched exactly")
]


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """What a list of messages is filtered by, and which page of it."""

    status: str | None = None
    from_date: str | None = None
    to_date: str | None = None
    destination: str | None = None
    campaign_id: str | None = None
    client_ref: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


def message_query(
    status: StatusFilter = None,
    from_date: RangeStart = None,
    to_date: RangeEnd = None,
    destination: DestinationFilter = None,
    campaign_id: CampaignFilter = None,
    client_ref: FromQuery[str | None] = None,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> MessageQuery:
    """The query parameters of every message list (GET /v1/sms and
    /v1/reports/messages), as one dependency both declare."""
    return MessageQuery(status, from_date, to_date, destination, campaign_id, client_ref,
                        page_size, cursor)


class MessagesController(Controller):
    path = "/v1/sms"
    tags = ["SMS"]

    @get("/{message_id:str}", operation_id="getMessage",
         summary="Get a message with its events", sync_to_thread=True)
    def message(
        self,
        meta: RequestMeta,
        message_id: FromPath[str],
        principal: NamedDependency[Principal],
        read_models: Service[ReadModels],
        sandbox: Service[SandboxService], unprojected: Service[UnprojectedMessages],
    ) -> Envelope[MessageDetailOut]:
        require_permission(principal, "sms.read")
        row = run_query(read_models, get_message, principal.account_id, message_id)
        if row is None:  # perhaps sent a moment ago: the log is not there yet
            row = _from_store(read_models, unprojected, principal.account_id, message_id)
        if row is None or row["sandbox"] != principal.sandbox or _reset_away(
            sandbox, principal, row
        ):
            raise NotFound("No such message", message_id=message_id)
        return Envelope(
            data=message_detail(row), meta=meta
        )

    @get("/", operation_id="listMessages", summary="List messages", sync_to_thread=True,
         dependencies={"filters": Provide(message_query, sync_to_thread=False)})
    def messages(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        read_models: Service[ReadModels], sandbox: Service[SandboxService],
        filters: NamedDependency[MessageQuery],
    ) -> Page[MessageOut]:
        require_permission(principal, "sms.read")
        return message_page(meta, principal, read_models, sandbox, filters)

    @get("/by-ref/{client_ref:str}", operation_id="listMessagesByClientRef",
         summary="Find messages by client_ref",
         sync_to_thread=True)
    def by_client_ref(
        self,
        meta: RequestMeta,
        client_ref: FromPath[str],
        principal: NamedDependency[Principal],
        read_models: Service[ReadModels],
        unprojected: Service[UnprojectedMessages], sandbox: Service[SandboxService],
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> Page[MessageOut]:
        """The messages sent with this client_ref, newest first; the first
        page includes messages sent a moment ago that the log has not reached."""
        require_permission(principal, "sms.read")
        check_text(client_ref, "client_ref")
        if cursor is not None:
            return message_page(meta, principal, read_models, sandbox, MessageQuery(
                client_ref=client_ref, page_size=page_size, cursor=cursor))
        result = run_query(read_models, unprojected.first_page_by_client_ref, principal.account_id,
            client_ref, sandbox=principal.sandbox,
            accepted_after=_sandbox_cutoff(sandbox, principal), page_size=page_size,
        )
        return page_of(message_out, result, page_size, meta)


def message_page(
    meta: Meta, principal: Principal, read_models: ReadModels, sandbox: SandboxService,
    query: MessageQuery,
) -> Page[MessageOut]:
    for name, text in (("client_ref", query.client_ref), ("campaign_id", query.campaign_id)):
        if text is not None:
            check_text(text, name)  # a NUL would fail the query: VALIDATION_ERROR instead
    dates = date_range(query.from_date, query.to_date)
    result = run_query(read_models, list_messages, principal.account_id,
        status=query.status, from_date=dates.start, to_date=dates.end,
        destination=destination_filter(query.destination), campaign_id=query.campaign_id,
        client_ref=query.client_ref, sandbox=principal.sandbox,
        page_size=query.page_size, cursor_token=query.cursor,
        accepted_after=_sandbox_cutoff(sandbox, principal),
    )
    return page_of(message_out, result, query.page_size, meta)


def _from_store(
    read_models: ReadModels, unprojected: UnprojectedMessages, account_id: str, message_id: str
) -> Row | None:
    return run_query(read_models, unprojected.message, account_id, message_id)


def _sandbox_cutoff(sandbox: SandboxService, principal: Principal) -> datetime | None:
    """A sandbox's messages accepted before its latest reset are hidden."""
    if not principal.sandbox:
        return None
    return sandbox.last_reset(principal.account_id)


def _reset_away(sandbox: SandboxService, principal: Principal, row: Row) -> bool:
    cutoff = _sandbox_cutoff(sandbox, principal)
    return cutoff is not None and row["accepted_at"] <= cutoff


def _text(value: str | None) -> str | None:
    """The log keeps '' for "none yet"; the API says null."""
    return value or None


def _message_fields(row: Row) -> dict[str, Any]:
    return {
        "id": row["message_id"],
        "message_id": row["message_id"],
        "status": row["status"],
        "destination": row["destination"],
        "country": row["country"],
        "sender": row["sender"],
        "encoding": row["encoding"],
        "segments": row["segments"],
        "cost_micros": row["price_micros"],
        "cost": float(micros_to_decimal(row["price_micros"])),
        "currency": row["currency"],
        "charge": row["charge"],
        "carrier_status": _text(row["carrier_status"]),
        "error_code": _text(row["error_code"]),
        "error_reason": _text(row["error_reason"]),
        "client_ref": row["client_ref"],
        "campaign_id": row["campaign_id"],
        "sandbox": row["sandbox"],
        "accepted_at": row["accepted_at"],
        "submitted_at": row["submitted_at"],
        "delivered_at": row["delivered_at"],
        "final_at": row["final_at"],
        "updated_at": row["updated_at"],
    }


def message_out(row: Row) -> MessageOut:
    return MessageOut(**_message_fields(row))


def message_detail(row: Row) -> MessageDetailOut:
    events = [
        MessageEventOut(
            type=event["type"],
            status=event["status"],
            carrier_status=_text(event.get("carrier_status")),
            error_code=_text(event.get("error_code")),
            occurred_at=datetime.fromisoformat(event["at"]),
        )
        for event in row["events"]
    ]
    return MessageDetailOut(**_message_fields(row), events=events)
