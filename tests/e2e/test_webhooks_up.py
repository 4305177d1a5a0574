"""`smsledger up` with a local receiver: a message sent over the API produces
signed message.queued, message.sent and message.delivered webhooks that both
independent verifiers accept, at the endpoint and at the message's
callback_url."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_up import Product, product_env  # noqa: F401 - the fixture it uses
from tests.support.webhook_receiver import (
    receiver,
    verify_seed_signature,
    verify_standard_signature,
)

pytestmark = pytest.mark.e2e
ORDER = ["message.queued", "message.sent", "message.delivered"]


@pytest.fixture
def hooked_product(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Product]:
    env = {**request.getfixturevalue("product_env"), "SMSLEDGER_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
           "SMSLEDGER_SIM_FAILURE_SHARE": "0"}
    running = Product(tmp_path / "data", env)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.stop()


def test_a_sent_message_is_reported_by_signed_webhooks(hooked_product: Product) -> None:
    created = hooked_product.cli("accounts", "create", "--name", "Hooked", "--credit", "10.00",
                                 "--country", "GB", "--sender-id", "Acme", "--json")
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    headers = {"X-API-Key": account["api_key"], "X-API-Secret": account["api_secret"]}
    with receiver(path="/hooks") as endpoint_rx, receiver(path="/per-message") as callback_rx, \
            httpx.Client(base_url=hooked_product.base_url, headers=headers, timeout=30) as http:
        made = http.post("/v1/settings/webhooks", json={"url": endpoint_rx.url, "events": ["*"]})
        assert made.status_code == 201, made.text
        secret = made.json()["data"]["secret"]
        sent = http.post("/v1/sms/send", json={
            "to": "+447700900123", "from": "Acme", "body": "hello",
            "callback_url": callback_rx.url})
        assert sent.status_code == 200, sent.text
        message_id = sent.json()["data"]["id"]
        bulk = http.post("/v1/sms/bulk", json={
            "recipients": [{"to": "+447700900124"}, {"to": "+447700900125"}],
            "from": "Acme", "body": "hello"})
        assert bulk.status_code == 200, bulk.text
        batch_id = bulk.json()["data"]["batch_id"]
        for rx in (endpoint_rx, callback_rx):
            rx.wait_for(lambda r: len(r.successes()) >= 3, timeout_s=60)
        # Once both of its messages are delivered, the batch completes.
        endpoint_rx.wait_for(lambda r: any(
            s.payload["event"] == "campaign.completed" for s in r.successes()), timeout_s=30)
        completed = [s.payload for s in endpoint_rx.successes()
                     if s.payload["event"] == "campaign.completed"]
        assert [c["data"]["campaign_id"] for c in completed] == [batch_id]
        path = f"/v1/settings/webhooks/{made.json()['data']['id']}/deliveries"
        deadline = time.monotonic() + 10  # attempts are recorded just after they answer
        while http.get(path).json()["pagination"]["total"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        attempts = http.get(path).json()
        assert attempts["pagination"]["total"] >= 3
        assert {a["status_code"] for a in attempts["data"]} == {200}
    for rx in (endpoint_rx, callback_rx):
        mine = [r for r in rx.successes() if r.payload["data"].get("message_id") == message_id]
        assert [r.payload["event"] for r in mine] == ORDER
        for request in mine:
            assert verify_seed_signature(secret, request.headers, request.body)
            assert verify_standard_signature(secret, request.headers, request.body)
        delivered = mine[-1].payload
        assert delivered["data"]["destination"] == "+447700900123"
        assert delivered["data"]["carrier_status"]
        assert delivered["data"]["delivered_at"]
    def event_ids(rx) -> list:
        return [r.event_id for r in rx.successes()
                if r.payload["data"].get("message_id") == message_id]

    assert event_ids(endpoint_rx) == event_ids(callback_rx)
