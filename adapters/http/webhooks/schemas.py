"""Request and response bodies of /v1/settings/webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from adapters.http.bodies import NO_NUL, Request

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=NO_NUL)]
EventNames = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]],
    msgspec.Meta(min_length=1, max_length=32),
]
Description = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]


class CreateWebhookRequest(Request):
    url: Url
    events: EventNames
    description: Description = ""
    active: bool = True


class UpdateWebhookRequest(Request):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    events: EventNames | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class ReplayRequest(Request):
    since: datetime | None = None
    since_event_id: UUID | None = None
    until: datetime | None = None


class WebhookOut(msgspec.Struct, omit_defaults=True):
    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_valid_until: datetime | None
    created_at: datetime
    updated_at: datetime
    # Only in the answers that create or rotate it; never again.
    secret: str | None = None


class QueuedTestOut(msgspec.Struct):
    event_id: str
    event: str
    status: str


class ReplayOut(msgspec.Struct):
    endpoint_id: str
    queued: int


class AttemptOut(msgspec.Struct):
    id: int
    delivery_id: int
    event_id: str
    event: str
    kind: str
    attempt: int
    status_code: int | None
    latency_ms: int
    error: str | None
    attempted_at: datetime
    next_attempt_at: datetime | None
    delivery_status: str


def attempt_out(row: dict[str, Any]) -> AttemptOut:
    return AttemptOut(
        id=row["id"], delivery_id=row["delivery_id"], event_id=str(row["event_id"]),
        event=row["event"], kind=row["kind"], attempt=row["attempt"],
        status_code=row["status_code"], latency_ms=row["latency_ms"],
        error=row["error"] or None, attempted_at=row["attempted_at"],
        next_attempt_at=row["next_attempt_at"], delivery_status=row["delivery_status"],
    )
