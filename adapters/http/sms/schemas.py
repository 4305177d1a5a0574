"""Request and response bodies of /v1/sms, as msgspec structs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from adapters.http.bodies import NO_NUL, Request

Variables = dict[
    Annotated[str, msgspec.Meta(pattern=NO_NUL)],
    Annotated[str, msgspec.Meta(pattern=NO_NUL)] | int | float | bool,
]
Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
SenderId = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, pattern=NO_NUL)]
ClientRef = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=NO_NUL)]
ValidityMinutes = Annotated[int, msgspec.Meta(ge=1, le=4320)]
# `to` as an array (seed 003) is for a handful of numbers with one response
# line each; larger lists belong on /v1/sms/bulk.
MAX_SEND_RECIPIENTS = 1_000
# Checked for its scheme here; its host and addresses when each webhook is sent.
CallbackUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s\x00]+$", max_length=2048)]
IdList = Annotated[list[str], msgspec.Meta(max_length=10_000)]


class SendTerms(Request):
    """What every send states besides its recipients: one home, so that a
    field added to sending reaches the single and the bulk request alike."""

    sender: SenderId = msgspec.field(name="from")
    body: Body | None = None  # or template_id
    client_ref: ClientRef | None = None
    unicode: bool = False
    validity_minutes: ValidityMinutes = 2880
    scheduled_at: datetime | None = None
    template_id: UUID | None = None
    callback_url: CallbackUrl | None = None
    # The audience fields (seed 002): contacts named by group or id.
    groupId: str | None = None  # noqa: N815 - seed 002's spelling
    groupIds: IdList | None = None  # noqa: N815
    contactIds: IdList | None = None  # noqa: N815
    sendToAllContacts: bool = False  # noqa: N815


class SendSmsRequest(SendTerms):
    # Optional when the audience fields name contacts (seed 002).
    to: (
        Phone | Annotated[list[Phone], msgspec.Meta(min_length=1, max_length=MAX_SEND_RECIPIENTS)]
        | None
    ) = None
    variables: Variables | None = None


class BulkRecipientIn(Request):
    to: Phone
    variables: Variables | None = None


class BulkSmsRequest(SendTerms):
    # May be empty when the audience fields name contacts (seed 002).
    recipients: Annotated[list[BulkRecipientIn], msgspec.Meta(max_length=10_000)] = []


class EstimateRequest(Request):
    to: Phone | Annotated[list[Phone], msgspec.Meta(min_length=1, max_length=10_000)]
    body: Body
    variables: Variables | None = None
    unicode: bool = False


class EstimateRejection(msgspec.Struct):
    index: int
    to: str
    code: str
    reason: str


class EstimateOut(msgspec.Struct):
    recipients: int
    length: int
    parts: int
    encoding: str
    cost_micros: int
    cost: float
    currency: str
    balance_micros: int
    available_micros: int
    canAfford: bool  # noqa: N815 - seed 002's field name
    rejected: list[EstimateRejection]
    sandbox: bool = False


class SentSms(msgspec.Struct):
    # The same id three times: seed 000 shows `id` and `messageId` in its
    # response, and its Node and PHP examples read `message_id`.
    id: str
    messageId: str  # noqa: N815 - the seed's field name
    message_id: str
    status: str
    to: str
    segments: int
    encoding: str
    cost_micros: int
    # The seed shows cost as a JSON number. It is rendered from the exact
    # micros at the last moment; a float of at most 15 significant digits
    # prints back as the same decimal. cost_micros is the amount of record.
    cost: float
    currency: str
    client_ref: str | None
    sandbox: bool = False


class BulkRejection(msgspec.Struct):
    index: int
    to: str
    code: str
    reason: str


class BulkAcceptedOut(msgspec.Struct):
    batch_id: str
    accepted: int
    rejected: int
    rejections: list[BulkRejection]
    cost_estimate: int
    cost_estimate_micros: int
    currency: str
    # What every accepted message is now (queued or scheduled; in the
    # sandbox, already final), or "mixed", with `statuses` counting each.
    status: str
    statuses: dict[str, int]
    sandbox: bool = False


class SentManyOut(msgspec.Struct):
    """A send to an array of numbers: one message per accepted recipient."""

    batch_id: str
    accepted: int
    rejected: int
    messages: list[SentSms]
    rejections: list[BulkRejection]
    cost_micros: int
    cost: float
    currency: str
    status: str  # as for a bulk: the messages' common status, or "mixed"
    statuses: dict[str, int]
    sandbox: bool


class BalanceOut(msgspec.Struct):
    balance: int
    reserved: int
    credit_limit: int
    available: int
    low_balance_threshold: int
    balance_micros: int
    reserved_micros: int
    credit_limit_micros: int
    available_micros: int
    low_balance_threshold_micros: int
    currency: str
    sandbox: bool
    auto_topup_enabled: bool
    frozen: bool = False
    flagged: bool = False
    as_of: datetime | None = None


class CancelledOut(msgspec.Struct):
    id: str
    status: str
    sandbox: bool = False


