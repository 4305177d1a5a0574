"""A named batch of messages. A bulk send is a campaign of kind `batch`,
created, filled and started by one command; the approval workflow of full
campaigns builds on the same aggregate.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition


class CampaignKind(StrEnum):
    BATCH = "batch"
    CAMPAIGN = "campaign"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Campaign(Aggregate):
    class Created(Aggregate.Created):
        account_id: str
        name: str
        kind: str
        sender: str
        body: str
        client_ref: str | None
        sandbox: bool

    class Event(Aggregate.Event):
        account_id: str

    class RecipientsAdded(Event):
        accepted: int
        rejected: int
        total_price_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.accepted += self.accepted
            aggregate.rejected += self.rejected
            aggregate.total_price_micros += self.total_price_micros

    class Started(Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.status = CampaignStatus.RUNNING

    class Completed(Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.status = CampaignStatus.COMPLETED

    class Failed(Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = CampaignStatus.FAILED

    def __init__(
        self,
        account_id: str,
        name: str,
        kind: str,
        sender: str,
        body: str,
        client_ref: str | None,
        sandbox: bool,
    ) -> None:
        self.account_id = account_id
        self.name = name
        self.kind = kind
        self.sender = sender
        self.body = body
        self.client_ref = client_ref
        self.sandbox = sandbox
        self.status = CampaignStatus.DRAFT
        self.accepted = 0
        self.rejected = 0
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
            cls.Created,
            id=batch_id,
            account_id=account_id,
            name=client_ref or "bulk send",
            kind=str(CampaignKind.BATCH),
            sender=sender,
            body=body,
            client_ref=client_ref,
            sandbox=sandbox,
        )

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("account_id", self.account_id)
        super().trigger_event(event_class, **kwargs)

    def add_recipients(self, accepted: int, rejected: int, total_price_micros: int) -> None:
        if self.status != CampaignStatus.DRAFT:
            raise InvalidTransition("Recipients are added to a draft", status=str(self.status))
        assert accepted >= 0 and rejected >= 0 and total_price_micros >= 0
        self.trigger_event(
            self.RecipientsAdded,
            accepted=accepted,
            rejected=rejected,
            total_price_micros=total_price_micros,
        )

    def start(self) -> None:
        if self.status != CampaignStatus.DRAFT:
            raise InvalidTransition("Only a draft can start", status=str(self.status))
        self.trigger_event(self.Started)

    def complete(self) -> None:
        if self.status == CampaignStatus.COMPLETED:
            return
        if self.status != CampaignStatus.RUNNING:
            raise InvalidTransition("Only a running campaign completes", status=str(self.status))
        self.trigger_event(self.Completed)

    def fail(self, reason: str) -> None:
        if self.status in (CampaignStatus.COMPLETED, CampaignStatus.FAILED):
            raise InvalidTransition("Campaign already finished", status=str(self.status))
        self.trigger_event(self.Failed, reason=reason)
