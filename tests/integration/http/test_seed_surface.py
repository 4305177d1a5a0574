"""Seed 000's own shapes, through HTTP on a real container: the send
response's id fields, the error for an unapproved sender ID, and the
sandbox (its reset, and sends settled as they are accepted)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.bootstrap.dispatcher import build_carriers
from adapters.eventstore.envelopes import envelopes_of
from adapters.postgres.dispatch import (
    PostgresDispatchClaims,
    PostgresReceiptIndex,
    PostgresReplyRoutes,
    load_routes,
)
from application.delivery.carriers import DeliveryReceipt
from application.delivery.dispatching import Dispatcher
from application.delivery.routing import RouteBook
from domain.message import Message
from tests.integration.webhooks.support import feed, intake_runner, rows
from tests.support.accounts import Account, new_account
from tests.support.projections import project_everything


def test_the_send_answers_message_id_beside_id_and_message_id(
    client: TestClient, account: Account
) -> None:
    """Seed 000's Node and PHP examples read `data.message_id`."""
    one = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "Acme", "body": "Hello"})
    assert one.status_code == 200, one.text
    data = one.json()["data"]
    assert data["message_id"] == data["id"] == data["messageId"]
    many = client.post("/v1/sms/send", headers=account.headers, json={
        "to": ["+447700900001", "+447700900002"], "from": "Acme", "body": "Hello"})
    assert many.status_code == 200, many.text
    for line in many.json()["data"]["messages"]:
        assert line["message_id"] == line["id"] == line["messageId"]


def test_an_unapproved_sender_id_error_names_the_fix(
    client: TestClient, account: Account
) -> None:
    refused = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "NotMine", "body": "Hello"})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "INVALID_SENDER_ID"
    assert "POST /v1/settings/sender-ids" in error["message"]
    assert "accounts create --sender-id NotMine" in error["message"]
    assert error["details"]["sender"] == "NotMine"
    assert error["details"]["request_with"] == "POST /v1/settings/sender-ids"
    assert error["details"]["operator_command"] == (
        "smsledger accounts create --sender-id NotMine")
    number = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "447700900999", "body": "Hello"})
    message = number.json()["error"]["message"]
    assert "POST /v1/settings/sender-ids" in message and "--numeric-senders" in message


def test_sandbox_reset_answers_get_as_the_seeds_curl_sends_it(
    client: TestClient, container: Container
) -> None:
    """Seed 000's curl for the reset has no -X POST: it is a GET."""
    account = new_account(container, sandbox_key=True)
    for method in ("GET", "POST"):
        reset = client.request(method, "/v1/sandbox/reset",
                               headers={**account.headers, "X-Sandbox": "true"})
        assert reset.status_code == 200, (method, reset.text)
        data = reset.json()["data"]
        assert (data["sandbox"], data["balance_micros"]) == (True, 100_000_000)
    assert client.get("/v1/sandbox/reset").status_code == 401


# The sandbox: settled as it is accepted ---------------------------------------

MAGIC = {"+15005550001": "failed", "+15005550002": "expired", "+15005550003": "rejected"}


def sandbox_headers(account: Account) -> dict[str, str]:
    return {**account.headers, "X-Sandbox": "true"}


def stored(container: Container, message_id: str) -> Message:
    message = container.app.repository.get(UUID(message_id))
    assert isinstance(message, Message)
    return message


def test_a_sandbox_send_answers_delivered_and_the_message_is_delivered(
    client: TestClient, container: Container, account: Account
) -> None:
    """Seed 000: `{"id": …, "status": "delivered", "sandbox": true}` at once."""
    sent = client.post("/v1/sms/send", headers=sandbox_headers(account), json={
        "to": "+447700900123", "from": "Test", "body": "Test - not sent!"})
    assert sent.status_code == 200, sent.text
    data = sent.json()["data"]
    assert (data["status"], data["sandbox"], data["cost_micros"]) == ("delivered", True, 0)
    message = stored(container, data["id"])
    assert (message.status, message.carrier, message.carrier_status) == (
        "delivered", "sandbox", "DELIVRD")
    project_everything(container)
    read = client.get(f"/v1/sms/{data['id']}", headers=sandbox_headers(account))
    assert read.json()["data"]["status"] == "delivered", read.text
    cancel = client.post(f"/v1/sms/{data['id']}/cancel", headers=sandbox_headers(account))
    assert cancel.status_code == 409, cancel.text


def test_the_magic_numbers_settle_sandbox_sends_as_the_simulator_says(
    client: TestClient, container: Container, account: Account
) -> None:
    for number, status in MAGIC.items():
        sent = client.post("/v1/sms/send", headers=sandbox_headers(account), json={
            "to": number, "from": "Test", "body": "x"}).json()["data"]
        assert sent["status"] == status, number
        assert stored(container, sent["id"]).status == status
    # Never reported: left to the dispatcher and the route's policy, as live.
    silent = client.post("/v1/sms/send", headers=sandbox_headers(account), json={
        "to": "+15005550004", "from": "Test", "body": "x"}).json()["data"]
    assert silent["status"] == stored(container, silent["id"]).status == "queued"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = client.post("/v1/sms/send", headers=sandbox_headers(account), json={
        "to": "+447700900123", "from": "Test", "body": "x", "scheduled_at": later})
    assert scheduled.json()["data"]["status"] == "scheduled"


def test_sandbox_bulk_and_array_sends_are_settled_like_single_ones(
    client: TestClient, container: Container, account: Account
) -> None:
    bulk = client.post("/v1/sms/bulk", headers=sandbox_headers(account), json={
        "from": "Test", "body": "b",
        "recipients": [{"to": f"+4477009000{i:02d}"} for i in range(3)]}).json()["data"]
    assert (bulk["status"], bulk["statuses"]) == ("delivered", {"delivered": 3})
    mixed = client.post("/v1/sms/bulk", headers=sandbox_headers(account), json={
        "from": "Test", "body": "b",
        "recipients": [{"to": n} for n in ["+447700900001", *MAGIC, "+15005550004"]]})
    assert mixed.status_code == 200, mixed.text
    assert (mixed.json()["data"]["status"], mixed.json()["data"]["statuses"]) == (
        "mixed", {"delivered": 1, "failed": 1, "expired": 1, "rejected": 1, "queued": 1})
    many = client.post("/v1/sms/send", headers=sandbox_headers(account), json={
        "to": ["+447700900001", "+15005550001"], "from": "Test", "body": "b"}).json()["data"]
    assert [m["status"] for m in many["messages"]] == ["delivered", "failed"]
    assert (many["status"], many["statuses"]) == ("mixed", {"delivered": 1, "failed": 1})
    for line in many["messages"]:
        assert stored(container, line["id"]).status == line["status"]
    project_everything(container)
    listed = client.get("/v1/sms", headers=sandbox_headers(account),
                        params={"campaign_id": bulk["batch_id"]}).json()["data"]
    assert [m["status"] for m in listed] == ["delivered"] * 3
    live = client.post("/v1/sms/bulk", headers=account.headers, json={
        "from": "Acme", "body": "b", "recipients": [{"to": "+447700900001"}]}).json()["data"]
    assert (live["status"], live["statuses"]) == ("queued", {"queued": 1})


def test_the_dispatcher_skips_a_settled_sandbox_message_and_its_webhooks_still_fire(
    client: TestClient, container: Container, account: Account
) -> None:
    hook = client.post("/v1/settings/webhooks", headers=account.headers, json={
        "url": "https://93.184.216.34/hooks", "events": ["dlr"]})
    assert hook.status_code == 201, hook.text
    sent = client.post("/v1/sms/send", headers=sandbox_headers(account), json={
        "to": "+447700900123", "from": "Test", "body": "x",
        "callback_url": "https://93.184.216.34/cb"}).json()["data"]
    message_id = UUID(sent["id"])
    version = stored(container, sent["id"]).version
    carriers = build_carriers(container.settings.carriers)
    dispatcher = Dispatcher(
        container.app, container.outcomes, RouteBook(load_routes(container.pool)), carriers,
        PostgresDispatchClaims(container.pool), PostgresReceiptIndex(container.pool),
        _Clock(), replies=PostgresReplyRoutes(container.pool), owner="test",
    )
    received: list[DeliveryReceipt] = []

    async def run() -> dict[UUID, float | None]:
        async def collect(receipt: DeliveryReceipt) -> None:
            received.append(receipt)

        for carrier in carriers.values():
            await carrier.start(collect, collect)  # type: ignore[arg-type]
        decisions = await dispatcher.dispatch([message_id])
        await asyncio.sleep(0.3)  # longer than the sandbox simulator's delay
        for carrier in carriers.values():
            await carrier.stop()
        return decisions

    assert asyncio.run(run()) == {message_id: None}  # done with, acked
    assert received == []  # nothing was submitted
    assert stored(container, sent["id"]).version == version

    envelopes = envelopes_of(container.app.mapper,
                             container.app.recorder.select_notifications(1, 1_000_000))
    feed(intake_runner(container), [e for e in envelopes if e.aggregate_id == message_id])
    queued = rows(container, "SELECT e.type, d.kind FROM webhook_deliveries d JOIN"
                  " webhook_events e ON e.seq = d.event_seq WHERE e.subject = %s ORDER BY d.id",
                  message_id)
    assert queued == [("message.queued", "callback"), ("message.sent", "callback"),
                      ("message.delivered", "event"), ("message.delivered", "callback")]
    body = rows(container, "SELECT body FROM webhook_events WHERE subject = %s"
                " AND type = 'message.delivered'", message_id)[0][0]
    data = json.loads(bytes(body))["data"]
    assert (data["message_id"], data["destination"], data["carrier_status"]) == (
        str(message_id), "+447700900123", "DELIVRD")


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
