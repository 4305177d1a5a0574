"""Seed 000's webhook event names (`dlr`, `opt_out`, `campaign.completed`,
`campaign.failed`, `balance.low`, `whatsapp.message`) as subscriptions made
over HTTP, and the events each one is queued by the intake and by a replay."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from domain import ids
from tests.integration.webhooks.conftest import Account
from tests.integration.webhooks.support import (
    envelope,
    feed,
    intake_runner,
    message_lifecycle,
    rows,
)

BASE = "/v1/settings/webhooks"
SEED_NAMES = ["dlr", "opt_out", "campaign.completed", "campaign.failed", "balance.low",
              "whatsapp.message"]
FINAL_REPORTS = {
    "delivered": ("message.delivery_reported", {
        "carrier_status": "DELIVRD", "status": "delivered", "error_code": "",
        "settlement": "capture"}),
    "failed": ("message.delivery_reported", {
        "carrier_status": "UNDELIV", "status": "failed", "error_code": "001",
        "settlement": "release"}),
    "expired": ("message.expired", {"settlement": "release"}),
    "rejected": ("message.carrier_rejected", {
        "error_code": "0x45", "reason": "refused", "settlement": "release"}),
}


def test_seed_names_subscribe_to_the_events_they_mean(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    made = {}
    for name in SEED_NAMES:
        response = client.post(BASE, headers=account.headers, json={
            "url": f"https://93.184.216.34/{name}", "events": [name]})
        assert response.status_code == 201, (name, response.text)
        assert response.json()["data"]["events"] == [name]
        made[name] = response.json()["data"]["id"]
    at = datetime.now(UTC)
    acct, wallet = account.account_id, ids.wallet_id(account.account_id, sandbox=False)
    fed = []
    for step, (type_, data) in enumerate(FINAL_REPORTS.values()):
        queued, sent, _ = message_lifecycle(acct, uuid4(), at=at + timedelta(seconds=step))
        fed += [queued, sent, envelope(acct, type_, queued.aggregate_id, data, queued.occurred_at)]
    phone = {"phone": "+447700900123"}
    fed += [
        envelope(acct, "inbound.opted_out", uuid4(), {**phone, "keyword": "STOP"}),
        envelope(acct, "inbound.opted_in", uuid4(), {**phone, "keyword": "START"}),
        envelope(acct, "campaign.started", uuid4(), {}),
        envelope(acct, "campaign.completed", uuid4(), {}),
        envelope(acct, "campaign.failed", uuid4(), {"reason": "no route"}),
        envelope(acct, "wallet.low_balance_crossed", wallet, {
            "account_id": acct, "available_micros": 900_000, "threshold_micros": 1_000_000}),
        envelope(acct, "wallet.topped_up", wallet, {
            "amount_micros": 5_000_000, "source": "stripe", "external_ref": "cs_1",
            "postings": [], "entry_hash": "h"}),
    ]
    feed(intake_runner(hooks_container), fed)

    queued: dict[str, list[str]] = defaultdict(list)
    for endpoint_id, event_type in rows(
        hooks_container,
        "SELECT d.endpoint_id::text, e.type FROM webhook_deliveries d"
        " JOIN webhook_events e ON e.seq = d.event_seq WHERE d.account_id = %s ORDER BY d.id",
        acct,
    ):
        queued[endpoint_id].append(event_type)
    assert queued[made["dlr"]] == [
        "message.delivered", "message.failed", "message.expired", "message.rejected"]
    assert queued[made["opt_out"]] == ["opt_out"]
    assert queued[made["campaign.completed"]] == ["campaign.completed"]
    assert queued[made["campaign.failed"]] == ["campaign.failed"]
    assert queued[made["balance.low"]] == ["balance.low"]
    assert made["whatsapp.message"] not in queued  # no WhatsApp channel yet

    bodies = rows(hooks_container, "SELECT body FROM webhook_events"
                  " WHERE account_id = %s AND type = 'message.delivered'", acct)
    assert b'"carrier_status":"DELIVRD"' in bytes(bodies[0][0])
    replayed = client.post(f"{BASE}/{made['dlr']}/replay", headers=account.headers,
                           json={"since": (at - timedelta(minutes=1)).isoformat()})
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["data"]["queued"] == 4
    changed = client.patch(f"{BASE}/{made['opt_out']}", headers=account.headers,
                           json={"events": ["dlr", "opt_out", "dlr"]})
    assert changed.json()["data"]["events"] == ["dlr", "opt_out"]
