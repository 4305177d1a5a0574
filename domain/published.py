"""The published language: what other services and customers may rely on.

Stored events are our internal record and may change shape (with upcasters).
Published events are a separate contract: an envelope, versioned as a whole,
around data that lists its fields explicitly per event type and carries its
own version. A stored event that gains a field publishes nothing new until
its entry here says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.campaign import Campaign
from domain.inbound import InboundMessage
from domain.message import Message
from domain.wallet import Wallet

ENVELOPE_VERSION = 1


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One published event. `id` is the event store's notification id: unique,
    increasing in commit order, and the deduplication key downstream."""

    id: int
    type: str
    version: int
    occurred_at: datetime
    account_id: str
    aggregate_id: UUID
    aggregate_version: int
    data: dict[str, Any]
    envelope_version: int = ENVELOPE_VERSION


@dataclass(frozen=True, slots=True)
class Contract:
    type: str
    version: int
    fields: tuple[str, ...]
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def _settlements_as_objects(data: dict[str, Any]) -> dict[str, Any]:
    data["settlements"] = [
        {
            "reservation_id": reservation_id,
            "message_id": message_id,
            "captured_micros": captured,
            "released_micros": released,
        }
        for reservation_id, message_id, captured, released in data["settlements"]
    ]
    return data


_MONEY = ("postings", "entry_hash")

CONTRACTS: Mapping[type, Contract] = {
    Wallet.Opened: Contract(
        "wallet.opened", 1,
        ("currency", "sandbox", "credit_limit_micros", "low_balance_threshold_micros"),
    ),
    Wallet.ToppedUp: Contract(
        "wallet.topped_up", 1, ("amount_micros", "source", "external_ref", *_MONEY)
    ),
    Wallet.FundsReserved: Contract(
        "wallet.funds_reserved", 1, ("reservation_id", "amount_micros", "reference", *_MONEY)
    ),
    Wallet.ReservationsSettled: Contract(
        "wallet.reservations_settled", 1,
        ("settlements", "captured_micros", "released_micros", *_MONEY),
        _settlements_as_objects,
    ),
    Wallet.Adjusted: Contract(
        "wallet.adjusted", 1, ("amount_micros", "reason", "reference", *_MONEY)
    ),
    Wallet.CreditLimitChanged: Contract(
        "wallet.credit_limit_changed", 1, ("credit_limit_micros",)
    ),
    Wallet.LowBalanceThresholdChanged: Contract(
        "wallet.low_balance_threshold_changed", 1, ("threshold_micros",)
    ),
    Wallet.Refunded: Contract(
        "wallet.refunded", 1,
        ("amount_micros", "charge_id", "refunded_total_micros", *_MONEY),
    ),
    Wallet.Flagged: Contract("wallet.flagged", 1, ("reason", "reference")),
    Wallet.Unflagged: Contract("wallet.unflagged", 1, ("reason",)),
    Wallet.DisputeOpened: Contract(
        "wallet.dispute_opened", 1, ("dispute_id", "charge_id", "amount_micros", "reason")
    ),
    Wallet.DisputeResolved: Contract(
        "wallet.dispute_resolved", 1, ("dispute_id", "outcome", "note")
    ),
    # Delivered to customers' endpoints as `balance.low`.
    Wallet.LowBalanceCrossed: Contract(
        "wallet.low_balance_crossed", 1, ("account_id", "available_micros", "threshold_micros")
    ),
    Wallet.AutoTopUpConfigured: Contract(
        "wallet.auto_topup_configured", 1, ("enabled", "threshold_micros", "amount_micros")
    ),
    Wallet.AutoTopUpRequested: Contract(
        "wallet.auto_topup_requested", 1,
        ("amount_micros", "available_micros", "threshold_micros"),
    ),
    Wallet.AutoTopUpSucceeded: Contract(
        "wallet.auto_topup_succeeded", 1, ("request_version", "payment_ref")
    ),
    Wallet.AutoTopUpFailed: Contract(
        "wallet.auto_topup_failed", 1, ("request_version", "reason", "failures", "disabled")
    ),
    Message.Accepted: Contract(
        "message.accepted", 1,
        ("wallet_id", "campaign_id", "reservation_id", "destination", "country", "sender",
         "encoding", "segments", "price_micros", "currency", "client_ref", "sandbox",
         "validity_minutes", "scheduled_at", "callback_url"),
    ),
    Message.SubmittedToCarrier: Contract(
        "message.submitted_to_carrier", 1, ("carrier", "carrier_message_id", "settlement")
    ),
    Message.CarrierRejected: Contract(
        "message.carrier_rejected", 1, ("error_code", "reason", "settlement")
    ),
    Message.DeliveryReported: Contract(
        "message.delivery_reported", 1,
        ("carrier_status", "status", "error_code", "settlement"),
    ),
    Message.Expired: Contract("message.expired", 1, ("settlement",)),
    Message.Cancelled: Contract("message.cancelled", 1, ("settlement",)),
    # Version 2 adds scheduled_at (null for bulk batches and for "at once").
    Campaign.Created: Contract(
        "campaign.created", 2, ("name", "kind", "sender", "client_ref", "sandbox", "scheduled_at")
    ),
    Campaign.RecipientsAdded: Contract(
        "campaign.recipients_added", 1, ("accepted", "rejected", "total_price_micros")
    ),
    Campaign.Started: Contract("campaign.started", 1, ()),
    Campaign.Completed: Contract("campaign.completed", 1, ()),
    Campaign.Failed: Contract("campaign.failed", 1, ("reason",)),
    Campaign.RecipientsListed: Contract(
        "campaign.recipients_listed", 1, ("added", "duplicates", "invalid")
    ),
    Campaign.SubmittedForApproval: Contract(
        "campaign.submitted_for_approval", 1, ("recipients", "last_seq")
    ),
    Campaign.Approved: Contract("campaign.approved", 1, ("by",)),
    Campaign.Rejected: Contract("campaign.rejected", 1, ("by", "reason")),
    Campaign.ChunkSent: Contract(
        "campaign.chunk_sent", 1,
        ("from_seq", "to_seq", "accepted", "rejected", "opted_out", "total_price_micros",
         "reservation_id"),
    ),
    Campaign.Paused: Contract("campaign.paused", 1, ("reason", "by")),
    Campaign.Resumed: Contract("campaign.resumed", 1, ("by",)),
    Campaign.Cancelled: Contract("campaign.cancelled", 1, ("by", "reason")),
    InboundMessage.Received: Contract(
        "inbound.received", 1, ("carrier", "source", "destination", "body")
    ),
    InboundMessage.OptedOut: Contract("inbound.opted_out", 1, ("phone", "keyword")),
    InboundMessage.OptedIn: Contract("inbound.opted_in", 1, ("phone", "keyword")),
}

CONTRACTS_BY_TYPE: Mapping[str, Contract] = {c.type: c for c in CONTRACTS.values()}


def publish(event: object, notification_id: int) -> Envelope | None:
    """The envelope for a stored domain event, or None for internal events
    (such as top-up receipts) that are not part of the published language."""
    contract = CONTRACTS.get(type(event))
    if contract is None:
        return None
    state = vars(event)
    data = {name: _plain(state[name]) for name in contract.fields}
    if contract.transform is not None:
        data = contract.transform(data)
    return Envelope(
        id=notification_id,
        type=contract.type,
        version=contract.version,
        occurred_at=state["timestamp"],
        account_id=state["account_id"],
        aggregate_id=state["originator_id"],
        aggregate_version=state["originator_version"],
        data=data,
    )


def _plain(value: Any) -> Any:
    """JSON-shaped values: lists for tuples, strings for ids and times, so an
    envelope compares equal to itself after a round trip."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
