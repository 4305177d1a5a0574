"""Each published envelope type and the webhook event it becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain import ids
from domain.published import CONTRACTS_BY_TYPE, Envelope
from domain.webhooks.catalogue import (
    CATALOGUE,
    CONSUMED_TYPES,
    LOW_BALANCE_CROSSED,
    MessageFacts,
    UnknownEvent,
    check_subscriptions,
    event_id,
    message_facts,
    subscribes,
    to_webhook_event,
)

AT = datetime(2026, 2, 18, 12, 0, 3, tzinfo=UTC)
MESSAGE = uuid4()


def envelope(type_: str, data: dict[str, Any], aggregate: UUID = MESSAGE, n: int = 7) -> Envelope:
    return Envelope(id=n, type=type_, version=1, occurred_at=AT, account_id="acct",
                    aggregate_id=aggregate, aggregate_version=2, data=data)


FACTS = {MESSAGE: MessageFacts("acct", "+447700900123", "ref-1", None, "https://cb.example/x")}


def accepted() -> Envelope:
    return envelope("message.accepted", {
        "wallet_id": str(uuid4()), "campaign_id": None, "reservation_id": "r",
        "destination": "+447700900123", "country": "GB", "sender": "Acme", "encoding": "GSM-7",
        "segments": 1, "price_micros": 35_000, "currency": "GBP", "client_ref": "ref-1",
        "sandbox": False, "validity_minutes": 60, "scheduled_at": None,
        "callback_url": "https://cb.example/x",
    })


def test_every_consumed_type_is_published() -> None:
    assert set(CONSUMED_TYPES) <= set(CONTRACTS_BY_TYPE)
    assert LOW_BALANCE_CROSSED in CONTRACTS_BY_TYPE
    # balance.low reads the fields the wallet's contract publishes.
    assert {"available_micros", "threshold_micros"} <= set(
        CONTRACTS_BY_TYPE[LOW_BALANCE_CROSSED].fields)


def test_accepted_is_queued_and_carries_the_callback_url() -> None:
    event = to_webhook_event(accepted(), {})
    assert event is not None and event.type == "message.queued"
    assert event.callback_url == "https://cb.example/x"
    assert event.data["destination"] == "+447700900123"
    assert message_facts(accepted()).callback_url == "https://cb.example/x"


@pytest.mark.parametrize(("type_", "data", "expected"), [
    ("message.submitted_to_carrier",
     {"carrier": "sim", "carrier_message_id": "c1", "settlement": ""}, "message.sent"),
    ("message.delivery_reported",
     {"carrier_status": "DELIVRD", "status": "delivered", "error_code": "",
      "settlement": "capture"},
     "message.delivered"),
    ("message.delivery_reported",
     {"carrier_status": "UNDELIV", "status": "failed", "error_code": "1", "settlement": "release"},
     "message.failed"),
    ("message.delivery_reported",
     {"carrier_status": "EXPIRED", "status": "expired", "error_code": "", "settlement": "release"},
     "message.expired"),
    ("message.delivery_reported",
     {"carrier_status": "REJECTD", "status": "rejected", "error_code": "", "settlement": "release"},
     "message.rejected"),
    ("message.carrier_rejected",
     {"error_code": "88", "reason": "throttled", "settlement": "release"},
     "message.rejected"),
    ("message.expired", {"settlement": "release"}, "message.expired"),
])
def test_message_events(type_: str, data: dict[str, Any], expected: str) -> None:
    event = to_webhook_event(envelope(type_, data), FACTS)
    assert event is not None and event.type == expected
    assert event.data["message_id"] == str(MESSAGE)
    assert event.data["destination"] == "+447700900123"
    assert event.data["client_ref"] == "ref-1"
    assert event.callback_url == "https://cb.example/x"
    assert event.subject == MESSAGE


def test_the_seed_dlr_example_fields() -> None:
    event = to_webhook_event(envelope("message.delivery_reported", {
        "carrier_status": "DELIVRD", "status": "delivered", "error_code": "",
        "settlement": "capture"}), FACTS)
    assert event is not None
    payload = json.loads(event.body())
    assert payload["event"] == "message.delivered"
    assert payload["created_at"] == "2026-02-18T12:00:03Z"
    assert payload["id"] == str(event_id(7))
    assert {"message_id", "destination", "carrier_status", "delivered_at"} <= set(payload["data"])
    assert payload["data"]["carrier_status"] == "DELIVRD"


def test_intermediate_reports_and_cancellations_send_nothing() -> None:
    assert to_webhook_event(envelope("message.delivery_reported", {
        "carrier_status": "ENROUTE", "status": "sent", "error_code": "", "settlement": ""}),
        FACTS) is None
    assert to_webhook_event(envelope("message.cancelled", {"settlement": "release"}),
                            FACTS) is None


def test_inbound_opt_out_opt_in_and_campaigns() -> None:
    inbound = to_webhook_event(envelope("inbound.received", {
        "carrier": "sim", "source": "+447700900123", "destination": "+447700900999",
        "body": "STOP"}), {})
    assert inbound is not None and inbound.type == "message.inbound"
    assert inbound.data["from"] == "+447700900123"
    out = to_webhook_event(envelope("inbound.opted_out", {"phone": "+447700900123",
                                                          "keyword": "STOP"}), {})
    back = to_webhook_event(envelope("inbound.opted_in", {"phone": "+447700900123",
                                                         "keyword": "START"}), {})
    assert out is not None and out.type == "opt_out"
    assert back is not None and back.type == "opt_in"
    for published, expected in [("campaign.started", "campaign.started"),
                                ("campaign.completed", "campaign.completed")]:
        made = to_webhook_event(envelope(published, {}), {})
        assert made is not None and made.type == expected
    failed = to_webhook_event(envelope("campaign.failed", {"reason": "no route"}), {})
    assert failed is not None and failed.data["reason"] == "no route"


def test_balance_events_say_which_wallet() -> None:
    live = ids.wallet_id("acct", sandbox=False)
    sandbox = ids.wallet_id("acct", sandbox=True)
    topped = to_webhook_event(envelope("wallet.topped_up", {
        "amount_micros": 5_000_000, "source": "stripe", "external_ref": "cs_1",
        "postings": [], "entry_hash": "h"}, aggregate=live), {})
    assert topped is not None and topped.type == "balance.topped_up"
    assert topped.data["amount_micros"] == 5_000_000 and topped.data["sandbox"] is False
    low = to_webhook_event(envelope(LOW_BALANCE_CROSSED, {
        "account_id": "acct", "available_micros": 900_000, "threshold_micros": 1_000_000},
        aggregate=sandbox), {})
    assert low is not None and low.type == "balance.low"
    assert low.data["available_micros"] == 900_000
    assert low.data["threshold_micros"] == 1_000_000
    assert low.data["sandbox"] is True


def test_ids_are_stable_per_envelope() -> None:
    first = to_webhook_event(accepted(), {})
    again = to_webhook_event(accepted(), {})
    assert first is not None and again is not None
    assert first.id == again.id == event_id(7) != event_id(8)
    assert first.body() == again.body()


def test_subscriptions() -> None:
    assert check_subscriptions(["message.delivered", "opt_out", "message.delivered"]) == [
        "message.delivered", "opt_out"]
    assert check_subscriptions(["*", "opt_out"]) == ["*"]
    assert subscribes(["*"], "balance.low") and not subscribes(["opt_out"], "opt_in")
    for bad in ([], ["message.unknown"], ["ping"]):
        with pytest.raises(UnknownEvent):
            check_subscriptions(bad)
    assert len(CATALOGUE) == 15


SEED_NAMES = ["dlr", "opt_out", "campaign.completed", "campaign.failed", "balance.low",
              "whatsapp.message"]


def test_every_event_name_of_seed_000_can_be_subscribed_to() -> None:
    assert check_subscriptions(SEED_NAMES) == SEED_NAMES
    assert check_subscriptions(["message.delivered", "dlr"]) == ["dlr", "message.delivered"]


@pytest.mark.parametrize(("name", "receives", "not_receives"), [
    # The seed's "delivery report (delivered/failed/expired)": every final
    # status event of a message, each under its own name.
    ("dlr", ["message.delivered", "message.failed", "message.expired", "message.rejected"],
     ["message.queued", "message.sent", "message.inbound", "opt_out", "ping"]),
    ("opt_out", ["opt_out"], ["opt_in", "message.inbound"]),
    ("balance.low", ["balance.low"], ["balance.topped_up"]),
    ("campaign.failed", ["campaign.failed"], ["campaign.completed", "campaign.started"]),
    # No channel publishes it yet: accepted, and matched once it is sent.
    ("whatsapp.message", ["whatsapp.message"], ["message.inbound", "message.delivered"]),
])
def test_a_seed_name_receives_the_events_it_means(
    name: str, receives: list[str], not_receives: list[str]
) -> None:
    assert all(subscribes([name], event) for event in receives)
    assert not any(subscribes([name], event) for event in not_receives)


def test_what_a_dlr_subscriber_receives_is_the_seed_dlr_payload() -> None:
    event = to_webhook_event(envelope("message.delivery_reported", {
        "carrier_status": "DELIVRD", "status": "delivered", "error_code": "",
        "settlement": "capture"}), FACTS)
    assert event is not None and subscribes(["dlr"], event.type)
    payload = json.loads(event.body())
    assert payload["event"] == "message.delivered"
    assert {"message_id", "destination", "carrier_status", "delivered_at"} <= set(payload["data"])
