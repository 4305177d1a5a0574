"""Sender IDs: an account requests one, a platform operator approves or
rejects it, and live sends may use only approved ones (or numbers, when the
account is configured for them). The sandbox accepts any well-formed ID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID, uuid4

from application.errors import NotFound, ValidationFailed, check_text
from domain.messaging.sender import (
    InvalidSenderId,
    SenderIdStatus,
    check_sender_allowed,
    decide_sender_id,
    sender_kind,
)

# An account asks for a handful of sender IDs; a bound keeps a runaway
# script from filling the operators' review queue.
MAX_SENDER_IDS_PER_ACCOUNT = 100
MAX_PURPOSE_LENGTH = 500
MAX_REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class SenderIdRecord:
    id: UUID
    account_id: str
    sender_id: str
    kind: str
    status: SenderIdStatus
    purpose: str
    rejection_reason: str | None
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class SendingPolicy:
    """What an account may put in `from` on live traffic."""

    approved: frozenset[str]
    numeric_allowed: bool


@dataclass(frozen=True, slots=True)
class Decision:
    status: SenderIdStatus
    reason: str | None
    decided_by: UUID | None
    decided_at: datetime


class SenderIdStore(Protocol):
    def add(self, record: SenderIdRecord, *, limit: int) -> None:
        """Save a new request; Conflict when the account already has this
        sender ID pending or approved, ValidationFailed past `limit`."""
        ...

    def get(self, record_id: UUID) -> SenderIdRecord | None: ...

    def page(
        self, account_id: str, page_size: int, cursor: str | None
    ) -> tuple[list[SenderIdRecord], str | None, bool, int]: ...

    def decide(self, record_id: UUID, expected: SenderIdStatus, decision: Decision) -> bool:
        """Apply the decision if the request is still `expected`; False if
        another operator decided first."""
        ...

    def policy(self, account_id: str, *, fresh: bool) -> SendingPolicy:
        """The account's policy, from a short-lived cache unless `fresh`."""
        ...

    def set_numeric_allowed(self, account_id: str, allowed: bool) -> None: ...


class SenderIdService:
    def __init__(
        self, store: SenderIdStore, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store = store
        self._now = now

    def request(self, account_id: str, sender_id: str, purpose: str = "") -> SenderIdRecord:
        kind = sender_kind(sender_id)
        check_text(purpose, "purpose")
        if len(purpose) > MAX_PURPOSE_LENGTH:
            raise ValidationFailed(f"purpose is at most {MAX_PURPOSE_LENGTH} characters")
        record = SenderIdRecord(
            id=uuid4(), account_id=account_id, sender_id=sender_id, kind=str(kind),
            status=SenderIdStatus.PENDING, purpose=purpose, rejection_reason=None,
            created_at=self._now(), decided_at=None,
        )
        self._store.add(record, limit=MAX_SENDER_IDS_PER_ACCOUNT)
        return record

    def page(
        self, account_id: str, page_size: int, cursor: str | None
    ) -> tuple[list[SenderIdRecord], str | None, bool, int]:
        return self._store.page(account_id, page_size, cursor)

    def approve(self, record_id: UUID, *, operator: UUID | None) -> SenderIdRecord:
        return self._decide(record_id, approve=True, reason=None, operator=operator)

    def reject(self, record_id: UUID, reason: str, *, operator: UUID | None) -> SenderIdRecord:
        reason = check_text(reason, "reason").strip()
        if not 1 <= len(reason) <= MAX_REASON_LENGTH:
            raise ValidationFailed(f"A rejection needs a reason of 1 to {MAX_REASON_LENGTH} "
                                   "characters")
        return self._decide(record_id, approve=False, reason=reason, operator=operator)

    def allow_numeric_senders(self, account_id: str, allowed: bool) -> None:
        """Let (or stop) the account send from phone numbers on live traffic."""
        self._store.set_numeric_allowed(account_id, allowed)

    def check(self, account_id: str, sender: str, *, sandbox: bool) -> None:
        """Raise InvalidSenderId unless the account may send from `sender`.

        The cached policy answers the common case; a refusal is confirmed
        against the database first, so an approval made a moment ago, in
        this process or another, is honoured at once.
        """
        sender_kind(sender)  # a malformed sender needs no lookup to be refused
        if sandbox:
            return
        try:
            _check(sender, self._store.policy(account_id, fresh=False))
        except InvalidSenderId:
            _check(sender, self._store.policy(account_id, fresh=True))

    def _decide(
        self, record_id: UUID, *, approve: bool, reason: str | None, operator: UUID | None
    ) -> SenderIdRecord:
        record = self._store.get(record_id)
        if record is None:
            raise NotFound("No such sender ID request", id=str(record_id))
        status = decide_sender_id(record.status, approve=approve)
        decision = Decision(status, reason, operator, self._now())
        if not self._store.decide(record_id, SenderIdStatus.PENDING, decision):
            current = self._store.get(record_id)
            assert current is not None  # requests are never deleted
            decide_sender_id(current.status, approve=approve)  # raises: decided meanwhile
        updated = self._store.get(record_id)
        assert updated is not None
        return updated


def _check(sender: str, policy: SendingPolicy) -> None:
    check_sender_allowed(
        sender, approved=policy.approved, numeric_allowed=policy.numeric_allowed,
        sandbox=False,
    )
