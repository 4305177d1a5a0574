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


