"""Request and response bodies of the campaign commands.

Recipients, groups and contacts use seed 002's names (groupId, groupIds,
contactIds, sendToAllContacts), as on /v1/sms/send and /v1/sms/bulk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from adapters.http.bodies import NO_NUL, Request
from adapters.http.messages.schemas import StatusCounts
from adapters.http.sms.schemas import Body, BulkRecipientIn, ClientRef, SenderId

IdList = Annotated[list[str], msgspec.Meta(max_length=10_000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]


class CampaignCreateIn(Request):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    sender: SenderId = msgspec.field(name="from")
    body: Body | None = None  # or template_id
    template_id: UUID | None = None
    schedule_at: datetime | None = None
    client_ref: ClientRef | None = None
    unicode: bool = False


class CampaignRecipientsIn(Request):
    recipients: Annotated[list[BulkRecipientIn], msgspec.Meta(max_length=10_000)] = []
    groupId: str | None = None  # noqa: N815 - seed 002's spelling
    groupIds: IdList | None = None  # noqa: N815
    contactIds: IdList | None = None  # noqa: N815
    sendToAllContacts: bool = False  # noqa: N815


class ReviewIn(Request):
    reason: Reason | None = None


class CampaignStateOut(msgspec.Struct, kw_only=True):
    """The campaign as its own events leave it (the write side: no lag)."""

    id: str
    name: str
    status: str
    reason: str | None
    sender: str
    body: str
    schedule_at: datetime | None
    client_ref: str | None
    sandbox: bool
    listed: int  # recipients on the list (draft)
    recipients: int  # recipients frozen at submission
    processed: int  # recipients turned into messages or rejected so far
    accepted: int
    rejected: int
    opted_out: int
    cost_micros: int


class InvalidRecipientOut(msgspec.Struct):
    index: int
    to: str
    reason: str


class RecipientsAddedOut(msgspec.Struct, kw_only=True):
    added: int
    duplicates: int
    invalid: int
    invalid_recipients: list[InvalidRecipientOut]  # the first 100
    listed: int  # on the list now


class CampaignOut(msgspec.Struct, kw_only=True):
    id: str
    campaign_id: str
    kind: str | None  # batch or campaign
    name: str | None
    sender: str | None
    client_ref: str | None
    sandbox: bool
    status: str  # the campaign's own state: draft, running, completed, failed
    failure_reason: str | None
    accepted: int
    rejected: int
    messages: StatusCounts
    messages_total: int
    # The price of the accepted messages, as reserved when they were accepted.
    total_cost_micros: int
    total_cost: int
    currency: str
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    updated_at: datetime
    # The review workflow of full campaigns (a bulk batch leaves these at
    # their zero values).
    schedule_at: datetime | None = None
    reason: str | None = None  # why it was paused, rejected, cancelled or failed
    listed: int = 0
    recipients: int = 0  # frozen at submission
    processed: int = 0  # accepted + rejected so far
    opted_out: int = 0
    cost_so_far_micros: int = 0
    cost_so_far: int = 0
    eta_seconds: int | None = None  # while sending, from the rate so far
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    rejected_at: datetime | None = None
    paused_at: datetime | None = None
    cancelled_at: datetime | None = None
