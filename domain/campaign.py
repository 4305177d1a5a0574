"""A named batch of messages.

A bulk send is a campaign of kind `batch`, created, filled and started by one
command. A full campaign (kind `campaign`) goes through review and is sent by
the executor in chunks:

    draft -> pending_approval -> approved | rejected
    approved -> sending <-> paused -> completed | cancelled | failed

Every transition is an event; a command the current state does not allow
raises InvalidTransition (409 CONFLICT) naming that state. The executor's
progress is the campaign's own: each chunk of recipients sent is a
ChunkSent event saved in the same transaction as the chunk's messages and its
reservation, so the cursor can never disagree with what was sent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import Aggregate

from domain.errors import DomainError, InvalidTransition


class CampaignKind(StrEnum):
    BATCH = "batch"
    CAMPAIGN = "campaign"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    RUNNING = "running"  # a bulk batch once its messages are accepted
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


S = CampaignStatus
FINAL_STATUSES = frozenset({S.REJECTED, S.COMPLETED, S.CANCELLED, S.FAILED})

# Which states each command of a full campaign may start from. The 409 table
# test walks this table against every state.
ALLOWED_FROM: dict[str, frozenset[CampaignStatus]] = {
    "add_recipients": frozenset({S.DRAFT}),
    "submit": frozenset({S.DRAFT}),
    "approve": frozenset({S.PENDING_APPROVAL}),
    "reject": frozenset({S.PENDING_APPROVAL}),
    "start": frozenset({S.APPROVED}),
    "send_chunk": frozenset({S.SENDING}),
    "pause": frozenset({S.SENDING}),
    "resume": frozenset({S.PAUSED}),
    "cancel": frozenset({S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.SENDING, S.PAUSED}),
    "complete": frozenset({S.SENDING}),
    "fail": frozenset({S.APPROVED, S.SENDING, S.PAUSED}),
}

MAX_REASON_LENGTH = 500
PAUSED_BY_REQUEST = "requested"
PAUSED_FOR_BALANCE = "insufficient_balance"


class EmptyCampaign(DomainError):
    code = "VALIDATION_ERROR"


class Campaign(Aggregate):
    class Created(Aggregate.Created):
        account_id: str
        name: str
        kind: str
        sender: str
        body: str
        client_ref: str | None
        sandbox: bool
        scheduled_at: datetime | None
        unicode: bool

        # Version 2 added scheduled_at and unicode: a version 1 campaign was
        # a bulk batch, sent at once with the body's own encoding.
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["scheduled_at"] = None
            state["unicode"] = False

    class Event(Aggregate.Event):
        account_id: str

    class RecipientsAdded(Event):
        """A batch's messages, accepted with it (kind batch only)."""

        accepted: int
        rejected: int
        total_price_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.accepted += self.accepted
            aggregate.rejected += self.rejected
            aggregate.total_price_micros += self.total_price_micros

    class RecipientsListed(Event):
        """Recipients were added to a draft's list (not yet messages)."""

        added: int
        duplicates: int
        invalid: int

        def apply(self, aggregate: Any) -> None:
            aggregate.listed += self.added

    class SubmittedForApproval(Event):
        recipients: int
        last_seq: int  # the list is frozen here: later rows are never sent

        def apply(self, aggregate: Any) -> None:
            aggregate.status = S.PENDING_APPROVAL
            aggregate.recipients = self.recipients
            aggregate.last_seq = self.last_seq

    class Moved(Event):
        """An event whose whole effect is to move the campaign to `moves_to`."""

        moves_to: ClassVar[CampaignStatus]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = self.moves_to

    class MovedWithReason(Moved):
        """A move that records why; the reason stands until a resume clears it."""

        # Each subclass declares `reason` itself, so its stored fields keep
        # their order.
        if TYPE_CHECKING:
            reason: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.reason = self.reason

    class Approved(Moved):
        moves_to = S.APPROVED
        by: str

    class Rejected(MovedWithReason):
        moves_to = S.REJECTED
        by: str
        reason: str

    class Started(Event):
        def apply(self, aggregate: Any) -> None:
            batch = aggregate.kind == CampaignKind.BATCH
            aggregate.status = S.RUNNING if batch else S.SENDING

    class ChunkSent(Event):
        """Recipients after `from_seq` up to `to_seq` became messages (or
        were rejected), under one reservation."""

        from_seq: int
        to_seq: int
        accepted: int
        rejected: int
        opted_out: int
        total_price_micros: int
        reservation_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.cursor = self.to_seq
            aggregate.chunks += 1
            aggregate.accepted += self.accepted
            aggregate.rejected += self.rejected
            aggregate.opted_out += self.opted_out
            aggregate.total_price_micros += self.total_price_micros

    class Paused(MovedWithReason):
        moves_to = S.PAUSED
        reason: str
        by: str

    class Resumed(Event):
        by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = S.SENDING
            aggregate.reason = None

    class Cancelled(MovedWithReason):
        moves_to = S.CANCELLED
        by: str
        reason: str

    class Completed(Moved):
        moves_to = S.COMPLETED

    class Failed(MovedWithReason):
        moves_to = S.FAILED
        reason: str

    def __init__(
        self,
        account_id: str,
        name: str,
        kind: str,
        sender: str,
        body: str,
        client_ref: str | None,
        sandbox: bool,
        scheduled_at: datetime | None,
        unicode: bool,
    ) -> None:
        self.account_id = account_id
        self.name = name
        self.kind = kind
        self.sender = sender
        self.body = body
        self.client_ref = client_ref
        self.sandbox = sandbox
        self.scheduled_at = scheduled_at
        self.unicode = unicode
        self.status = S.DRAFT
        self.reason: str | None = None
        self.listed = 0
        self.recipients = 0
        self.last_seq = 0
        self.cursor = 0
        self.chunks = 0
        self.accepted = 0
        self.rejected = 0
        self.opted_out = 0
        self.total_price_micros = 0

    @classmethod
    def create_batch(
        cls,
        batch_id: Any,
        *,
        account_id: str,
        sender: str,
        body: str,
        client_ref: str | None,
        sandbox: bool,
    ) -> Campaign:
        return cls._create(
            cls.Created, id=batch_id, account_id=account_id, name=client_ref or "bulk send",
            kind=str(CampaignKind.BATCH), sender=sender, body=body, client_ref=client_ref,
            sandbox=sandbox, scheduled_at=None, unicode=False,
        )

    @classmethod
    def create_campaign(
        cls,
        campaign_id: Any,
        *,
        account_id: str,
        name: str,
        sender: str,
        body: str,
        client_ref: str | None,
        sandbox: bool,
        scheduled_at: datetime | None,
        unicode: bool,
    ) -> Campaign:
        return cls._create(
            cls.Created, id=campaign_id, account_id=account_id, name=name,
            kind=str(CampaignKind.CAMPAIGN), sender=sender, body=body, client_ref=client_ref,
            sandbox=sandbox, scheduled_at=scheduled_at, unicode=unicode,
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def processed(self) -> int:
        """Recipients turned into messages or rejected so far."""
        return self.accepted + self.rejected

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("account_id", self.account_id)
        super().trigger_event(event_class, **kwargs)

    # Bulk batches -----------------------------------------------------------

    def add_recipients(self, accepted: int, rejected: int, total_price_micros: int) -> None:
        if self.status != S.DRAFT:
            raise InvalidTransition("Recipients are added to a draft", status=str(self.status))
        assert accepted >= 0 and rejected >= 0 and total_price_micros >= 0
        self.trigger_event(
            self.RecipientsAdded,
            accepted=accepted,
            rejected=rejected,
            total_price_micros=total_price_micros,
        )

    def start(self) -> None:
        if self.kind == CampaignKind.BATCH:
            if self.status != S.DRAFT:
                raise InvalidTransition("Only a draft can start", status=str(self.status))
        else:
            self._check("start")
        self.trigger_event(self.Started)

    def complete(self) -> None:
        if self.status == S.COMPLETED:
            return
        if self.kind == CampaignKind.BATCH:
            if self.status != S.RUNNING:
                raise InvalidTransition(
                    "Only a running campaign completes", status=str(self.status)
                )
        else:
            self._check("complete")
            assert self.cursor >= self.last_seq, "a campaign completes once all are sent"
        self.trigger_event(self.Completed)

    def fail(self, reason: str) -> None:
        if self.kind == CampaignKind.BATCH:
            if self.status in (S.COMPLETED, S.FAILED):
                raise InvalidTransition("Campaign already finished", status=str(self.status))
        else:
            self._check("fail")
        self.trigger_event(self.Failed, reason=_reason(reason))

    # Full campaigns ---------------------------------------------------------

    def list_recipients(self, added: int, duplicates: int, invalid: int) -> None:
        self._check("add_recipients")
        assert added >= 0 and duplicates >= 0 and invalid >= 0
        self.trigger_event(
            self.RecipientsListed, added=added, duplicates=duplicates, invalid=invalid
        )

    def submit(self, recipients: int, last_seq: int) -> None:
        self._check("submit")
        if recipients <= 0:
            raise EmptyCampaign("A campaign needs recipients before it is submitted")
        self.trigger_event(self.SubmittedForApproval, recipients=recipients, last_seq=last_seq)

    def approve(self, by: str) -> None:
        self._check("approve")
        self.trigger_event(self.Approved, by=by)

    def reject(self, by: str, reason: str) -> None:
        self._check("reject")
        self.trigger_event(self.Rejected, by=by, reason=_reason(reason))

    def send_chunk(
        self,
        *,
        to_seq: int,
        accepted: int,
        rejected: int,
        opted_out: int,
        total_price_micros: int,
        reservation_id: str,
    ) -> None:
        self._check("send_chunk")
        assert self.cursor < to_seq <= self.last_seq, "chunks move the cursor forward"
        assert min(accepted, rejected, opted_out, total_price_micros) >= 0
        assert opted_out <= rejected
        self.trigger_event(
            self.ChunkSent, from_seq=self.cursor, to_seq=to_seq, accepted=accepted,
            rejected=rejected, opted_out=opted_out, total_price_micros=total_price_micros,
            reservation_id=reservation_id,
        )

    def pause(self, reason: str, by: str) -> None:
        self._check("pause")
        self.trigger_event(self.Paused, reason=_reason(reason), by=by)

    def resume(self, by: str) -> None:
        self._check("resume")
        self.trigger_event(self.Resumed, by=by)

    def cancel(self, by: str, reason: str = "requested") -> None:
        self._check("cancel")
        self.trigger_event(self.Cancelled, by=by, reason=_reason(reason))

    def _check(self, action: str) -> None:
        assert self.kind == CampaignKind.CAMPAIGN, "a bulk batch has no review workflow"
        if self.status not in ALLOWED_FROM[action]:
            raise InvalidTransition(
                f"Cannot {action.replace('_', ' ')} a campaign that is {self.status}",
                status=str(self.status),
                action=action,
                allowed_from=sorted(str(s) for s in ALLOWED_FROM[action]),
            )


def _reason(reason: str) -> str:
    text = reason.strip()
    if not 1 <= len(text) <= MAX_REASON_LENGTH:
        raise DomainError(f"A reason is 1 to {MAX_REASON_LENGTH} characters")
    return text
