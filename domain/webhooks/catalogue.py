"""The webhook event catalogue: what a customer's endpoint receives.

Webhook payloads are a public contract of their own, built from the published
envelopes (never from stored events): `{"id", "event", "created_at", "data"}`,
the shape of the seed's delivery-report example. `id` is derived from the
envelope's id, so a redelivered envelope, a retry and a replay all carry the
same `id`, and a receiver deduplicates on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import msgspec

from domain import ids
from domain.published import Envelope

MESSAGE_QUEUED = "message.queued"
MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_FAILED = "message.failed"
MESSAGE_EXPIRED = "message.expired"
MESSAGE_REJECTED = "message.rejected"
MESSAGE_INBOUND = "message.inbound"
OPT_OUT = "opt_out"
OPT_IN = "opt_in"
CAMPAIGN_STARTED = "campaign.started"
CAMPAIGN_COMPLETED = "campaign.completed"
CAMPAIGN_FAILED = "campaign.failed"
BALANCE_LOW = "balance.low"
BALANCE_TOPPED_UP = "balance.topped_up"
# An inbound WhatsApp message (seed 000). No channel publishes one yet: the
# name can be subscribed to now, and its events reach the subscribers once
# the WhatsApp channel sends them under this name.
WHATSAPP_MESSAGE = "whatsapp.message"
PING = "ping"

MESSAGE_STATUS_EVENTS = frozenset({
    MESSAGE_QUEUED, MESSAGE_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_EXPIRED,
    MESSAGE_REJECTED,
})
CATALOGUE: tuple[str, ...] = (
    MESSAGE_QUEUED, MESSAGE_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_EXPIRED,
    MESSAGE_REJECTED, MESSAGE_INBOUND, OPT_OUT, OPT_IN, CAMPAIGN_STARTED, CAMPAIGN_COMPLETED,
    CAMPAIGN_FAILED, BALANCE_LOW, BALANCE_TOPPED_UP, WHATSAPP_MESSAGE,
)
# Seed 000's delivery report, "delivered/failed/expired": a subscription to
# `dlr` receives every final status event of a message, each under its own
# name (the seed's DLR example is a `message.delivered`). `message.rejected`
# is one too: a carrier's REJECTD receipt, or its refusal at submit, is the
# message's last word, and a DLR subscriber would otherwise never hear it.
DLR = "dlr"
# Subscription names that stand for several events of the catalogue. The
# endpoint keeps the name it subscribed with, and matching expands it, so a
# group that grows reaches its existing subscribers.
GROUPS: Mapping[str, frozenset[str]] = {
    DLR: frozenset({MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_EXPIRED, MESSAGE_REJECTED}),
}
SUBSCRIBABLE: tuple[str, ...] = (*GROUPS, *CATALOGUE)
# An endpoint subscribes to named events, or to every event with "*".
ALL_EVENTS = "*"

# The published types this catalogue reads. message.accepted also tells the
# consumer each message's destination and callback URL for its later events.
ACCEPTED = "message.accepted"
SUBMITTED = "message.submitted_to_carrier"
CARRIER_REJECTED = "message.carrier_rejected"
REPORTED = "message.delivery_reported"
EXPIRED = "message.expired"
INBOUND_RECEIVED = "inbound.received"
OPTED_OUT = "inbound.opted_out"
OPTED_IN = "inbound.opted_in"
STARTED = "campaign.started"
COMPLETED = "campaign.completed"
FAILED = "campaign.failed"
TOPPED_UP = "wallet.topped_up"
# Published by the billing work's Wallet.LowBalanceCrossed; mapped here by its
# published name, so that it is delivered as soon as it is published.
LOW_BALANCE_CROSSED = "wallet.low_balance_crossed"

MESSAGE_TYPES = frozenset({ACCEPTED, SUBMITTED, CARRIER_REJECTED, REPORTED, EXPIRED})
CONSUMED_TYPES = frozenset({
    *MESSAGE_TYPES, INBOUND_RECEIVED, OPTED_OUT, OPTED_IN, STARTED, COMPLETED, FAILED,
    TOPPED_UP, LOW_BALANCE_CROSSED,
})

_ID_NAMESPACE = UUID("0d8e3c52-7f0b-5a51-b6a3-8f7e4b2a9c11")

_REPORTED_EVENT = {
    "delivered": MESSAGE_DELIVERED,
    "failed": MESSAGE_FAILED,
    "expired": MESSAGE_EXPIRED,
    "rejected": MESSAGE_REJECTED,
}


class UnknownEvent(ValueError):
    """An endpoint asked for an event the catalogue does not have."""


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a message's later events do not repeat: where it went, the
    caller's reference, its batch and where its own status events go."""

    account_id: str
    destination: str
    client_ref: str | None
    campaign_id: str | None
    callback_url: str | None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: UUID
    type: str
    account_id: str
    created_at: datetime
    data: dict[str, Any]
    # Events about the same subject (a message, campaign or wallet) reach an
    # endpoint in the order they happened.
    subject: UUID | None
    envelope_id: int | None
    callback_url: str | None = None

    def body(self) -> bytes:
        """The exact bytes posted, signed and kept for retries and replays."""
        return _encoder.encode({
            "id": str(self.id),
            "event": self.type,
            "created_at": self.created_at,
            "data": self.data,
        })


_encoder = msgspec.json.Encoder()


def event_id(envelope_id: int) -> UUID:
    return uuid5(_ID_NAMESPACE, f"envelope/{envelope_id}")


def check_subscriptions(events: list[str]) -> list[str]:
    """The subscribed names, de-duplicated in catalogue order (groups
    first); raise UnknownEvent."""
    if not events:
        raise UnknownEvent("Subscribe to at least one event, or to \"*\" for all of them")
    unknown = sorted(set(events) - {*SUBSCRIBABLE, ALL_EVENTS})
    if unknown:
        raise UnknownEvent(f"Unknown webhook events: {', '.join(unknown)}")
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return [name for name in SUBSCRIBABLE if name in events]


def subscribes(subscribed: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to these names receives this event."""
    if ALL_EVENTS in subscribed or event_type in subscribed:
        return True
    return any(event_type in GROUPS.get(name, ()) for name in subscribed)


def message_facts(envelope: Envelope) -> MessageFacts:
    """What a message.accepted envelope tells about the message."""
    data = envelope.data
    return MessageFacts(
        account_id=envelope.account_id,
        destination=str(data["destination"]),
        client_ref=data.get("client_ref"),
        campaign_id=data.get("campaign_id"),
        callback_url=data.get("callback_url"),
    )


def to_webhook_event(
    envelope: Envelope, facts: Mapping[UUID, MessageFacts]
) -> WebhookEvent | None:
    """The webhook event an envelope means, or None for the envelopes that
    mean none (intermediate delivery reports, cancellations, ...)."""
    builder = _BUILDERS.get(envelope.type)
    if builder is None:
        return None
    built = builder(envelope, facts)
    if built is None:
        return None
    event_type, data, callback_url = built
    return WebhookEvent(
        id=event_id(envelope.id),
        type=event_type,
        account_id=envelope.account_id,
        created_at=envelope.occurred_at,
        data=data,
        subject=envelope.aggregate_id,
        envelope_id=envelope.id,
        callback_url=callback_url,
    )


_Built = tuple[str, dict[str, Any], str | None] | None


def _message_data(envelope: Envelope, facts: Mapping[UUID, MessageFacts],
                  status: str) -> tuple[dict[str, Any], str | None]:
    known = facts.get(envelope.aggregate_id)
    data: dict[str, Any] = {
        "message_id": str(envelope.aggregate_id),
        "status": status,
        "destination": known.destination if known else None,
        "client_ref": known.client_ref if known else None,
        "batch_id": known.campaign_id if known else None,
    }
    return data, known.callback_url if known else None


def _accepted(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    d = envelope.data
    own = {envelope.aggregate_id: message_facts(envelope)}
    status = "scheduled" if d.get("scheduled_at") else "queued"
    data, callback_url = _message_data(envelope, own, status)
    data.update(
        sender=d["sender"], segments=d["segments"], encoding=d["encoding"],
        price_micros=d["price_micros"], currency=d["currency"], sandbox=d["sandbox"],
        scheduled_at=d.get("scheduled_at"), queued_at=envelope.occurred_at.isoformat(),
    )
    return MESSAGE_QUEUED, data, callback_url


def _submitted(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    data, callback_url = _message_data(envelope, facts, "sent")
    data.update(
        carrier=envelope.data["carrier"],
        carrier_message_id=envelope.data["carrier_message_id"],
        sent_at=envelope.occurred_at.isoformat(),
    )
    return MESSAGE_SENT, data, callback_url


def _reported(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    status = str(envelope.data["status"])
    event_type = _REPORTED_EVENT.get(status)
    if event_type is None:
        return None  # an intermediate report: the message is still on its way
    data, callback_url = _message_data(envelope, facts, status)
    data["carrier_status"] = envelope.data["carrier_status"]
    data["error_code"] = envelope.data["error_code"] or None
    data[f"{status}_at"] = envelope.occurred_at.isoformat()
    return event_type, data, callback_url


def _carrier_rejected(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    data, callback_url = _message_data(envelope, facts, "rejected")
    data.update(
        carrier_status=None, error_code=envelope.data["error_code"] or None,
        reason=envelope.data["reason"], rejected_at=envelope.occurred_at.isoformat(),
    )
    return MESSAGE_REJECTED, data, callback_url


def _expired(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    data, callback_url = _message_data(envelope, facts, "expired")
    data.update(carrier_status=None, expired_at=envelope.occurred_at.isoformat())
    return MESSAGE_EXPIRED, data, callback_url


def _inbound(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    d = envelope.data
    return MESSAGE_INBOUND, {
        "inbound_id": str(envelope.aggregate_id), "from": d["source"], "to": d["destination"],
        "body": d["body"], "carrier": d["carrier"],
        "received_at": envelope.occurred_at.isoformat(),
    }, None


def _opt(event_type: str) -> Callable[[Envelope, Mapping[UUID, MessageFacts]], _Built]:
    def build(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
        return event_type, {
            "phone": envelope.data["phone"], "keyword": envelope.data["keyword"],
            "inbound_id": str(envelope.aggregate_id),
            "at": envelope.occurred_at.isoformat(),
        }, None

    return build


def _campaign(event_type: str) -> Callable[[Envelope, Mapping[UUID, MessageFacts]], _Built]:
    def build(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
        data: dict[str, Any] = {
            "campaign_id": str(envelope.aggregate_id),
            "at": envelope.occurred_at.isoformat(),
        }
        if "reason" in envelope.data:
            data["reason"] = envelope.data["reason"]
        return event_type, data, None

    return build


def _wallet_data(envelope: Envelope) -> dict[str, Any]:
    sandbox_wallet = ids.wallet_id(envelope.account_id, sandbox=True)
    return {
        "wallet_id": str(envelope.aggregate_id),
        "sandbox": envelope.aggregate_id == sandbox_wallet,
        "at": envelope.occurred_at.isoformat(),
    }


def _topped_up(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    data = _wallet_data(envelope)
    data.update(
        amount_micros=envelope.data["amount_micros"], source=envelope.data["source"],
        external_ref=envelope.data["external_ref"],
    )
    return BALANCE_TOPPED_UP, data, None


def _low_balance(envelope: Envelope, facts: Mapping[UUID, MessageFacts]) -> _Built:
    data = _wallet_data(envelope)
    data.update(
        available_micros=envelope.data["available_micros"],
        threshold_micros=envelope.data["threshold_micros"],
    )
    return BALANCE_LOW, data, None


_BUILDERS: Mapping[str, Callable[[Envelope, Mapping[UUID, MessageFacts]], _Built]] = {
    ACCEPTED: _accepted,
    SUBMITTED: _submitted,
    REPORTED: _reported,
    CARRIER_REJECTED: _carrier_rejected,
    EXPIRED: _expired,
    INBOUND_RECEIVED: _inbound,
    OPTED_OUT: _opt(OPT_OUT),
    OPTED_IN: _opt(OPT_IN),
    STARTED: _campaign(CAMPAIGN_STARTED),
    COMPLETED: _campaign(CAMPAIGN_COMPLETED),
    FAILED: _campaign(CAMPAIGN_FAILED),
    TOPPED_UP: _topped_up,
    LOW_BALANCE_CROSSED: _low_balance,
}
