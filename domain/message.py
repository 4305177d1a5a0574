"""One SMS to one recipient, from acceptance to its final outcome.

Transitions are monotonic: once a message is final, later reports are no-ops,
and a report that repeats the last one changes nothing. Each transition that
settles the message's held price says so in its event (`settlement`), so that
replaying the events tells exactly when money was captured or released.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidTransition
from domain.messaging.receipts import status_for_carrier_state
from domain.messaging.recipient import Recipient
from domain.messaging.sandbox import SANDBOX_CARRIER, sandbox_carrier_id, settled_status
from domain.messaging.simulator import (
    REJECTION_ERROR_CODE,
    REJECTION_REASON,
    SimulatedOutcome,
)
from domain.messaging.status import (
    FINAL_STATUSES,
    NOT_YET_SUBMITTED,
    REPORTABLE_STATUSES,
    Charge,
    MessageStatus,
)
from domain.settlement import SettlementItem, SettlementKind

DEFAULT_VALIDITY_MINUTES = 2880


@dataclass(frozen=True, slots=True)
class Acceptance:
    """What messages accepted together share: every field of their Accepted
    event but the recipient's own (ACCEPTED_RECIPIENT_FIELDS). A single send
    is a batch of one with the same terms."""

    account_id: str
    wallet_id: UUID
    campaign_id: UUID | None
    reservation_id: str
    sender: str
    currency: str
    client_ref: str | None
    sandbox: bool
    validity_minutes: int = DEFAULT_VALIDITY_MINUTES
    scheduled_at: datetime | None = None
    callback_url: str | None = None

    def state(self) -> dict[str, Any]:
        """The terms as event state, by field name."""
        return {name: getattr(self, name) for name in ACCEPTANCE_FIELDS}


ACCEPTANCE_FIELDS = tuple(f.name for f in fields(Acceptance))
# A recipient's fields that its Accepted event holds: all but its message id,
# which is the event's originator id.
ACCEPTED_RECIPIENT_FIELDS = tuple(name for name in Recipient._fields if name != "message_id")


def _recipient_state(recipient: Recipient) -> dict[str, Any]:
    return {name: getattr(recipient, name) for name in ACCEPTED_RECIPIENT_FIELDS}


class Message(Aggregate):
    class Accepted(Aggregate.Created):
        account_id: str
        wallet_id: UUID
        campaign_id: UUID | None
        reservation_id: str
        destination: str
        country: str
        sender: str
        body: str
        encoding: str
        segments: int
        price_micros: int
        currency: str
        client_ref: str | None
        sandbox: bool
        validity_minutes: int
        scheduled_at: datetime | None
        callback_url: str | None

        # Version 2 added scheduled_at; a version 1 message was sent at once.
        # Version 3 added callback_url; earlier messages had none.
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["scheduled_at"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["callback_url"] = None

    class Event(Aggregate.Event):
        account_id: str  # so that the published log says whose message moved

    class Transition(Event):
        """Base of status changes; `settlement` is "capture", "release" or ""."""

        settlement: str

        def apply(self, aggregate: Any) -> None:
            if self.settlement == SettlementKind.CAPTURE:
                aggregate.charge = Charge.CAPTURED
            elif self.settlement == SettlementKind.RELEASE:
                aggregate.charge = Charge.RELEASED

    class SubmittedToCarrier(Transition):
        carrier: str
        carrier_message_id: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.status = MessageStatus.SENT
            aggregate.carrier = self.carrier
            aggregate.carrier_message_id = self.carrier_message_id

    class CarrierRejected(Transition):
        error_code: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.status = MessageStatus.REJECTED
            aggregate.error_code = self.error_code

    class DeliveryReported(Transition):
        carrier_status: str  # verbatim from the carrier, e.g. DELIVRD
        status: str
        error_code: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.status = MessageStatus(self.status)
            aggregate.carrier_status = self.carrier_status
            aggregate.error_code = self.error_code

    class Expired(Transition):
        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.status = MessageStatus.EXPIRED

    class Cancelled(Transition):
        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.status = MessageStatus.CANCELLED

    def __init__(
        self,
        account_id: str,
        wallet_id: UUID,
        campaign_id: UUID | None,
        reservation_id: str,
        destination: str,
        country: str,
        sender: str,
        body: str,
        encoding: str,
        segments: int,
        price_micros: int,
        currency: str,
        client_ref: str | None,
        sandbox: bool,
        validity_minutes: int,
        scheduled_at: datetime | None,
        callback_url: str | None = None,
    ) -> None:
        self.account_id = account_id
        self.wallet_id = wallet_id
        self.campaign_id = campaign_id
        self.reservation_id = reservation_id
        self.destination = destination
        self.country = country
        self.sender = sender
        self.body = body
        self.encoding = encoding
        self.segments = segments
        self.price_micros = price_micros
        self.currency = currency
        self.client_ref = client_ref
        self.sandbox = sandbox
        self.validity_minutes = validity_minutes
        self.scheduled_at = scheduled_at
        self.callback_url = callback_url
        self.status = MessageStatus.SCHEDULED if scheduled_at else MessageStatus.QUEUED
        self.charge = Charge.HELD if price_micros > 0 else Charge.NONE
        self.carrier = ""
        self.carrier_message_id = ""
        self.carrier_status = ""
        self.error_code = ""

    @classmethod
    def accept(
        cls, recipient: Recipient, terms: Acceptance, timestamp: datetime | None = None
    ) -> Message:
        """One message accepted: the one-recipient case of a batch, whose
        event it records (`accepted_events`)."""
        (event,) = cls.accepted_events(
            terms, (recipient,), timestamp or cls.Event.create_timestamp())
        message = event.mutate(None)
        assert isinstance(message, Message)
        message.pending_events.append(event)  # as the library's own _create does
        return message

    @classmethod
    def accepted_events(
        cls, terms: Acceptance, recipients: Iterable[Recipient], timestamp: datetime
    ) -> list[Message.Accepted]:
        """The creation events of messages accepted together, without
        building their aggregates.

        A bulk send creates up to 10,000 messages that nobody reads back in
        the same request. Building each aggregate costs more than the rest of
        the request together, so the events are constructed the way the
        library itself reconstructs stored ones, from the terms the messages
        share and each recipient's own fields, both by name. A unit test holds
        them equal to the events the library's constructor would build.
        """
        shared = {
            "originator_version": cls.INITIAL_VERSION,
            "timestamp": timestamp,
            "originator_topic": _MESSAGE_TOPIC,
            **terms.state(),
        }
        events = []
        for recipient in recipients:
            assert recipient.segments >= 1 and recipient.price_micros >= 0
            events.append(_built(
                cls.Accepted, originator_id=recipient.message_id, **shared,
                **_recipient_state(recipient),
            ))
        return events

    @classmethod
    def sandbox_settlement_events(
        cls,
        message_id: UUID,
        *,
        account_id: str,
        outcome: SimulatedOutcome,
        timestamp: datetime,
    ) -> list[Message.Event]:
        """The events `settle_in_sandbox` records on a message just
        accepted, built without the aggregate, as `accepted_events` are for
        the same reason; the two are held equal by a unit test."""
        version = cls.INITIAL_VERSION + 1
        common = {"originator_id": message_id, "timestamp": timestamp,
                  "account_id": account_id, "settlement": ""}
        if not outcome.accepted:
            return [_built(
                cls.CarrierRejected, **common, originator_version=version,
                error_code=REJECTION_ERROR_CODE, reason=REJECTION_REASON,
            )]
        receipt = outcome.receipt
        assert receipt is not None, "a message never reported is left to the dispatcher"
        return [
            _built(
                cls.SubmittedToCarrier, **common, originator_version=version,
                carrier=SANDBOX_CARRIER, carrier_message_id=sandbox_carrier_id(message_id),
            ),
            _built(
                cls.DeliveryReported, **common, originator_version=version + 1,
                carrier_status=receipt.carrier_state,
                status=str(status_for_carrier_state(receipt.carrier_state)),
                error_code=receipt.error_code,
            ),
        ]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def settle_in_sandbox(self, outcome: SimulatedOutcome) -> None:
        """Record, as the message is accepted, what the sandbox's simulator
        did with it (domain/messaging/sandbox.py): taken and reported, or refused at
        submit. A sandbox message holds no money: nothing is settled."""
        assert self.sandbox and self.charge == Charge.NONE, "a free sandbox message"
        assert self.status == MessageStatus.QUEUED, "settled as it is accepted"
        if not outcome.accepted:
            settled = self.reject(REJECTION_ERROR_CODE, REJECTION_REASON)
        else:
            receipt = outcome.receipt
            assert receipt is not None, "a message never reported is left to the dispatcher"
            self.submit(SANDBOX_CARRIER, sandbox_carrier_id(self.id), capture_on_submit=False)
            settled = self.report_delivery(
                receipt.carrier_state, status_for_carrier_state(receipt.carrier_state),
                receipt.error_code,
            )
        assert settled is None, "nothing held, nothing settled"
        assert self.status == settled_status(outcome)

    # Commands: each returns the settlement it causes, or None. -------------

    def submit(
        self, carrier: str, carrier_message_id: str, *, capture_on_submit: bool
    ) -> SettlementItem | None:
        """Record the carrier's acceptance; a repeated submit record is a no-op."""
        if self.status not in NOT_YET_SUBMITTED:
            if self.carrier_message_id == carrier_message_id:
                return None
            raise InvalidTransition(
                "Message was already submitted or is final",
                status=str(self.status),
            )
        kind = SettlementKind.CAPTURE if capture_on_submit else None
        self.trigger_event(
            self.SubmittedToCarrier,
            settlement=self._settlement_label(kind),
            carrier=carrier,
            carrier_message_id=carrier_message_id,
        )
        return self._settlement(kind)

    def reject(self, error_code: str, reason: str) -> SettlementItem | None:
        if self.is_final:
            return None
        kind = self._release_if_held()
        self.trigger_event(
            self.CarrierRejected,
            settlement=self._settlement_label(kind),
            error_code=error_code,
            reason=reason,
        )
        return self._settlement(kind)

    def report_delivery(
        self, carrier_status: str, status: MessageStatus, error_code: str = ""
    ) -> SettlementItem | None:
        """Apply a delivery report; duplicate and late reports change nothing.

        A carrier's own expiry or rejection after it took the message ends
        the message as expired or rejected, like ours would, and releases it.
        """
        if status not in REPORTABLE_STATUSES:
            raise InvalidTransition(
                "A delivery report is sent, delivered, failed, expired or rejected",
                status=str(status),
            )
        if self.is_final:
            return None
        if status == MessageStatus.SENT and carrier_status == self.carrier_status:
            return None
        kind: SettlementKind | None = None
        if status == MessageStatus.DELIVERED:
            if self.charge == Charge.HELD:
                kind = SettlementKind.CAPTURE
        elif status != MessageStatus.SENT:
            kind = self._release_if_held()
        self.trigger_event(
            self.DeliveryReported,
            settlement=self._settlement_label(kind),
            carrier_status=carrier_status,
            status=str(status),
            error_code=error_code,
        )
        return self._settlement(kind)

    def expire(self, *, capture_held: bool = False) -> SettlementItem | None:
        """Expire a message that ran out of validity.

        A message never submitted has its price released. One submitted but
        never reported is settled by its route's policy: `capture_held`.
        """
        if self.is_final:
            return None
        kind: SettlementKind | None = None
        if self.charge == Charge.HELD:
            submitted = self.status not in NOT_YET_SUBMITTED
            capture = submitted and capture_held
            kind = SettlementKind.CAPTURE if capture else SettlementKind.RELEASE
        self.trigger_event(self.Expired, settlement=self._settlement_label(kind))
        return self._settlement(kind)

    def cancel(self) -> SettlementItem | None:
        if self.status == MessageStatus.CANCELLED:
            return None
        if self.status not in NOT_YET_SUBMITTED:
            raise InvalidTransition(
                "Only a message not yet submitted can be cancelled",
                status=str(self.status),
            )
        kind = self._release_if_held()
        self.trigger_event(self.Cancelled, settlement=self._settlement_label(kind))
        return self._settlement(kind)

    # Internals -------------------------------------------------------------

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("account_id", self.account_id)
        super().trigger_event(event_class, **kwargs)

    def _release_if_held(self) -> SettlementKind | None:
        return SettlementKind.RELEASE if self.charge == Charge.HELD else None

    @staticmethod
    def _settlement_label(kind: SettlementKind | None) -> str:
        return str(kind) if kind is not None else ""

    def _settlement(self, kind: SettlementKind | None) -> SettlementItem | None:
        if kind is None:
            return None
        captured = self.price_micros if kind == SettlementKind.CAPTURE else 0
        return SettlementItem(
            reservation_id=self.reservation_id,
            message_id=self.id,
            captured_micros=captured,
            released_micros=self.price_micros - captured,
        )


# The library's topic format, module:qualname, without its registry.
_MESSAGE_TOPIC = f"{Message.__module__}:{Message.__qualname__}"

_E = TypeVar("_E", bound=Aggregate.Event)


def _built(event_class: type[_E], **state: Any) -> _E:
    """An event constructed the way the library reconstructs stored ones."""
    event = object.__new__(event_class)
    object.__setattr__(event, "__dict__", state)
    return event
