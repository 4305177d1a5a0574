"""/v1/settings/webhooks: endpoints, their secrets, deliveries, tests and replays."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from adapters.http.bodies import DeletedOut, Envelope, Page
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import page_of
from adapters.http.webhooks.schemas import (
    AttemptOut,
    CreateWebhookRequest,
    QueuedTestOut,
    ReplayOut,
    ReplayRequest,
    UpdateWebhookRequest,
    WebhookOut,
    attempt_out,
)
from adapters.webhooks.endpoints import Endpoint, WebhookEndpoints
from adapters.webhooks.ssrf import UrlGuard, UrlRefused
from application.errors import ValidationFailed
from application.identity.principal import Principal
from domain.webhooks.catalogue import PING, UnknownEvent, check_subscriptions

WRITE = "webhooks.write"
READ = "webhooks.read"


def _can_read(principal: Principal) -> None:
    if READ not in principal.permissions:
        require_permission(principal, WRITE)


async def _checked_url(webhook_guard: UrlGuard, url: str) -> str:
    try:
        await webhook_guard.target(url)
    except UrlRefused as refused:
        raise ValidationFailed(str(refused), url=url) from None
    return url


def _events(names: list[str]) -> list[str]:
    try:
        return check_subscriptions(names)
    except UnknownEvent as unknown:
        raise ValidationFailed(str(unknown), events=names) from None


def _out(endpoint: Endpoint, secret: str | None = None) -> WebhookOut:
    return WebhookOut(
        id=str(endpoint.id), url=endpoint.url, events=endpoint.events,
        description=endpoint.description, active=endpoint.active,
        disabled_reason=endpoint.disabled_reason or None, disabled_at=endpoint.disabled_at,
        failing_since=endpoint.failing_since,
        previous_secret_valid_until=endpoint.previous_secret_until, created_at=endpoint.created_at,
        updated_at=endpoint.updated_at, secret=secret,
    )


class WebhooksController(Controller):
    path = "/v1/settings/webhooks"
    tags = ["Webhooks"]

    @get("/", operation_id="listWebhooks", summary="List webhook endpoints", sync_to_thread=True)
    def list_webhooks(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        webhook_endpoints: Service[WebhookEndpoints],
        page_size: FromQuery[int] = 50, cursor: FromQuery[str | None] = None,
    ) -> Page[WebhookOut]:
        _can_read(principal)
        if not 1 <= page_size <= 500:
            raise ValidationFailed("page_size must be 1 to 500")
        found = webhook_endpoints.page(principal.account_id, page_size, cursor)
        return page_of(_out, found, page_size, meta)

    @post("/", operation_id="createWebhook", summary="Create a webhook endpoint", status_code=201)
    async def create_webhook(
        self, meta: RequestMeta, data: JSONBody[CreateWebhookRequest],
        principal: NamedDependency[Principal],
        webhook_endpoints: Service[WebhookEndpoints], webhook_guard: Service[UrlGuard],
    ) -> Envelope[WebhookOut]:
        require_permission(principal, WRITE)
        url = await _checked_url(webhook_guard, data.url)
        endpoint, secret = await asyncio.to_thread(
            webhook_endpoints.create, principal.account_id, url, _events(data.events),
            data.description, data.active,
        )
        return Envelope(data=_out(endpoint, secret), meta=meta)

    @get("/{endpoint_id:uuid}", operation_id="getWebhook",
         summary="Get a webhook endpoint", sync_to_thread=True)
    def get_webhook(
        self, meta: RequestMeta, endpoint_id: FromPath[UUID],
        principal: NamedDependency[Principal], webhook_endpoints: Service[WebhookEndpoints],
    ) -> Envelope[WebhookOut]:
        _can_read(principal)
        endpoint = webhook_endpoints.get(principal.account_id, endpoint_id)
        return Envelope(data=_out(endpoint), meta=meta)

    @patch("/{endpoint_id:uuid}", operation_id="updateWebhook",
           summary="Update a webhook endpoint")
    async def update_webhook(
        self, meta: RequestMeta, endpoint_id: FromPath[UUID],
        data: JSONBody[UpdateWebhookRequest], principal: NamedDependency[Principal],
        webhook_endpoints: Service[WebhookEndpoints], webhook_guard: Service[UrlGuard],
    ) -> Envelope[WebhookOut]:
        require_permission(principal, WRITE)
        changes: dict[str, Any] = {
            name: value for name, value in msgspec.structs.asdict(data).items()
            if value is not msgspec.UNSET
        }
        if "url" in changes:
            changes["url"] = await _checked_url(webhook_guard, changes["url"])
        if "events" in changes:
            changes["events"] = _events(changes["events"])
        endpoint = await asyncio.to_thread(
            webhook_endpoints.update, principal.account_id, endpoint_id, changes
        )
        return Envelope(data=_out(endpoint), meta=meta)

    @delete("/{endpoint_id:uuid}", operation_id="deleteWebhook",
            summary="Delete a webhook endpoint", status_code=200,
            sync_to_thread=True)
    def delete_webhook(
        self, meta: RequestMeta, endpoint_id: FromPath[UUID],
        principal: NamedDependency[Principal], webhook_endpoints: Service[WebhookEndpoints],
    ) -> Envelope[DeletedOut]:
        require_permission(principal, WRITE)
        webhook_endpoints.delete(principal.account_id, endpoint_id)
        return Envelope(data=DeletedOut(id=str(endpoint_id), deleted=True),
                               meta=meta)

    @post("/{endpoint_id:uuid}/rotate-secret", operation_id="rotateWebhookSecret",
          summary="Rotate a webhook signing secret",
          status_code=200, sync_to_thread=True)
    def rotate_secret(
        self, meta: RequestMeta, endpoint_id: FromPath[UUID],
        principal: NamedDependency[Principal], webhook_endpoints: Service[WebhookEndpoints],
    ) -> Envelope[WebhookOut]:
        require_permission(principal, WRITE)
        endpoint, secret = webhook_endpoints.rotate_secret(principal.account_id, endpoint_id)
        return Envelope(data=_out(endpoint, secret), meta=meta)

    @get("/{endpoint_id:uuid}/deliveries", operation_id="listWebhookDeliveries",
         summary="List a webhook endpoint's deliveries",
         sync_to_thread=True)
    def list_deliveries(
        self, meta: RequestMeta, endpoint_id: FromPath[UUID],
        principal: NamedDependency[Principal], webhook_endpoints: Service[WebhookEndpoints],
        page_size: FromQuery[int] = 50, cursor: FromQuery[str | None] = None,
    ) -> Page[AttemptOut]:
        _can_read(principal)
        if not 1 <= page_size <= 500:
            raise ValidationFailed("page_size must be 1 to 500")
        found = webhook_endpoints.attempts(principal.account_id, endpoint_id, page_size, cursor)
        return page_of(attempt_out, found, page_size, meta)

    @post("/{endpoint_id:uuid}/test", operation_id="testWebhook",
          summary="Send a test event to a webhook endpoint", status_code=202,
          sync_to_thread=True)
    def test_webhook(
        self, meta: RequestMeta, endpoint_id: FromPath[UUID],
        principal: NamedDependency[Principal], webhook_endpoints: Service[WebhookEndpoints],
    ) -> Envelope[QueuedTestOut]:
        require_permission(principal, WRITE)
        event_id = webhook_endpoints.send_test(
            principal.account_id, endpoint_id, datetime.now(UTC)
        )
        return Envelope(
            data=QueuedTestOut(event_id=str(event_id), event=PING, status="queued"),
            meta=meta,
        )

    @post("/{endpoint_id:uuid}/replay", operation_id="replayWebhook",
          summary="Replay webhook events", status_code=202,
          sync_to_thread=True)
    def replay(
        self, meta: RequestMeta, endpoint_id: FromPath[UUID],
        data: JSONBody[ReplayRequest], principal: NamedDependency[Principal],
        webhook_endpoints: Service[WebhookEndpoints],
    ) -> Envelope[ReplayOut]:
        require_permission(principal, WRITE)
        queued = webhook_endpoints.replay(
            principal.account_id, endpoint_id, since=data.since,
            since_event_id=data.since_event_id, until=data.until,
        )
        return Envelope(data=ReplayOut(endpoint_id=str(endpoint_id), queued=queued),
                              meta=meta)
