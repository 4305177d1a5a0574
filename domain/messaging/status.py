"""A message's status and the state of its held price."""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.CANCELLED,
    }
)
NOT_YET_SUBMITTED = frozenset({MessageStatus.SCHEDULED, MessageStatus.QUEUED})
REPORTABLE_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
    }
)


class Charge(StrEnum):
    NONE = "none"  # sandbox and free messages hold nothing
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"
