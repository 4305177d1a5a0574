"""Bodies of the account-settings surface: templates, sender IDs,
notification preferences and the sandbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from adapters.http.bodies import NO_NUL, Request
from application.settings.sender_ids import SenderIdRecord

TemplateName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
TemplateContent = Annotated[
    str, msgspec.Meta(min_length=1, max_length=10_000, pattern=NO_NUL)
]
SenderIdText = Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=NO_NUL)]
Purpose = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=NO_NUL)]


# Templates -------------------------------------------------------------------


class CreateTemplateRequest(Request):
    name: TemplateName
    content: TemplateContent


class UpdateTemplateRequest(Request):
    name: TemplateName | None = None
    content: TemplateContent | None = None


class TemplateOut(msgspec.Struct):
    id: str
    name: str
    content: str
    variables: list[str]
    created_at: datetime
    updated_at: datetime


# Sender IDs ------------------------------------------------------------------


class SenderIdRequest(Request):
    sender_id: SenderIdText
    purpose: Purpose = ""


class RejectSenderIdRequest(Request):
    reason: Reason


class SenderIdOut(msgspec.Struct):
    id: str
    sender_id: str
    kind: str  # alphanumeric or numeric
    status: str  # pending, approved or rejected
    purpose: str
    rejection_reason: str | None
    created_at: datetime
    decided_at: datetime | None


# Notifications ---------------------------------------------------------------


class NotificationsPatch(Request):
    low_balance_email: bool | None = None
    delivery_failure_email: bool | None = None
    webhook_failure_email: bool | None = None
    campaign_completed_email: bool | None = None
    weekly_usage_email: bool | None = None
    recipients: Annotated[list[Email], msgspec.Meta(max_length=5)] | None = None


class NotificationsOut(msgspec.Struct):
    low_balance_email: bool
    delivery_failure_email: bool
    webhook_failure_email: bool
    campaign_completed_email: bool
    weekly_usage_email: bool
    recipients: list[str]


# Sandbox ---------------------------------------------------------------------


class SandboxResetOut(msgspec.Struct):
    sandbox: bool
    reset_at: datetime
    balance_micros: int
    currency: str


def sender_id_out(record: SenderIdRecord) -> SenderIdOut:
    return SenderIdOut(
        id=str(record.id), sender_id=record.sender_id, kind=record.kind,
        status=str(record.status), purpose=record.purpose,
        rejection_reason=record.rejection_reason, created_at=record.created_at,
        decided_at=record.decided_at,
    )
