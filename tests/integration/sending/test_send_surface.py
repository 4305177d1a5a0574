"""POST /v1/sms/send and /bulk with every seed field, templates, `to` as an
array, form bodies, size limits and the sandbox, through HTTP on a real
container and database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.bootstrap.dispatcher import build_carriers
from adapters.config.settings import Settings
from adapters.http.app import create_app
from adapters.postgres.dispatch import (
    PostgresDispatchClaims,
    PostgresReceiptIndex,
    PostgresReplyRoutes,
    load_routes,
)
from application.delivery.carriers import DeliveryReceipt
from application.delivery.dispatching import Dispatcher
from application.delivery.receipts import ReceiptProcessor
from application.delivery.routing import RouteBook
from domain import ids
from domain.message import Message
from domain.wallet import TopUpSource
from tests.support.projections import project_everything
from tests.support.senders import approve_sender

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
OPENING_MICROS = 10_000_000


class Account:
    def __init__(self, container: Container, *, sandbox_key: bool = False) -> None:
        profile = container.accounts.create_account(f"Send {uuid4().hex[:6]}", "GBP", "GB")
        self.account_id = profile.account_id
        live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
        container.wallets.top_up(live, OPENING_MICROS, TopUpSource.ADJUSTMENT, "opening")
        approve_sender(container, profile.account_id)
        key = container.accounts.issue_key(profile.account_id, sandbox=sandbox_key)
        self.headers = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}


@pytest.fixture
def account(container: Container) -> Account:
    return Account(container)


def stored(container: Container, message_id: str) -> Message:
    message = container.app.repository.get(UUID(message_id))
    assert isinstance(message, Message)
    return message


def live_balance(client: TestClient, account: Account) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/v1/billing/balance", headers=account.headers).json()[
        "data"]
    return data


# Every field of the seed's table ---------------------------------------------


def test_every_seed_field_reaches_the_message(
    client: TestClient, container: Container, account: Account
) -> None:
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    response = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "Acme", "body": "Hi {{name}}",
        "variables": {"name": "Ann"}, "client_ref": "ref-1", "scheduled_at": at.isoformat(),
        "validity_minutes": 60, "unicode": True,
    })
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["status"], data["encoding"], data["client_ref"], data["sandbox"]) == (
        "scheduled", "UCS-2", "ref-1", False)
    message = stored(container, data["id"])
    assert (message.body, message.validity_minutes, message.scheduled_at) == ("Hi Ann", 60, at)
    assert (message.client_ref, message.encoding, message.sandbox) == ("ref-1", "UCS-2", False)


def test_a_template_supplies_the_body_and_variables_still_apply(
    client: TestClient, container: Container, account: Account
) -> None:
    template = client.post("/v1/templates", headers=account.headers, json={
        "name": "otp", "content": "Your code is {{code}}"}).json()["data"]
    sent = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "Acme", "template_id": template["id"],
        "variables": {"code": "4242"}})
    assert sent.status_code == 200, sent.text
    assert stored(container, sent.json()["data"]["id"]).body == "Your code is 4242"
    bulk = client.post("/v1/sms/bulk", headers=account.headers, json={
        "from": "Acme", "template_id": template["id"],
        "recipients": [{"to": "+447700900001", "variables": {"code": "1"}},
                       {"to": "+447700900002"}]})
    assert bulk.status_code == 200, bulk.text
    assert (bulk.json()["data"]["accepted"], bulk.json()["data"]["rejected"]) == (1, 1)
    assert bulk.json()["data"]["rejections"][0]["code"] == "MISSING_VARIABLE"

    missing = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "Acme", "template_id": str(uuid4())})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    other = Account(container)
    theirs = client.post("/v1/sms/send", headers=other.headers, json={
        "to": "+447700900123", "from": "Acme", "template_id": template["id"],
        "variables": {"code": "1"}})
    assert theirs.status_code == 404
    for both_or_neither in ({"body": "x", "template_id": template["id"]}, {}):
        refused = client.post("/v1/sms/send", headers=account.headers, json={
            "to": "+447700900123", "from": "Acme", **both_or_neither})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR"


def test_to_as_an_array_lists_one_message_per_recipient(
    client: TestClient, container: Container, account: Account
) -> None:
    response = client.post("/v1/sms/send", headers=account.headers, json={
        "to": ["+447700900001", "07700900002", "+4477"], "from": "Acme",
        "body": "Hi {{name}}", "variables": {"name": "all"}, "client_ref": "many"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["accepted"], data["rejected"], data["status"]) == (2, 1, "queued")
    assert [m["to"] for m in data["messages"]] == ["+447700900001", "+447700900002"]
    assert data["rejections"][0]["code"] == "INVALID_PHONE_NUMBER"
    assert data["cost_micros"] == sum(m["cost_micros"] for m in data["messages"]) > 0
    for line in data["messages"]:
        message = stored(container, line["id"])
        assert (message.destination, message.body, message.client_ref) == (
            line["to"], "Hi all", "many")
        assert message.campaign_id == UUID(data["batch_id"])
    assert live_balance(client, account)["reserved_micros"] == data["cost_micros"]


def test_to_as_an_array_keeps_every_field_of_a_single_send(
    client: TestClient, container: Container, account: Account
) -> None:
    """The array is many single sends at once: each message carries the
    callback_url, schedule, validity and encoding a single send would."""
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    fields = {"from": "Acme", "body": "Hi", "client_ref": "cb-many",
              "callback_url": "https://93.184.216.34/cb", "scheduled_at": at.isoformat(),
              "validity_minutes": 90, "unicode": True}
    single = client.post("/v1/sms/send", headers=account.headers,
                         json={"to": "+447700900003", **fields})
    many = client.post("/v1/sms/send", headers=account.headers,
                       json={"to": ["+447700900001", "+447700900002"], **fields})
    assert single.status_code == 200, single.text
    assert many.status_code == 200, many.text
    ids = [single.json()["data"]["id"], *(m["id"] for m in many.json()["data"]["messages"])]

    def carried(message: Message) -> tuple[object, ...]:
        return (message.callback_url, message.scheduled_at, message.validity_minutes,
                message.encoding, message.client_ref, message.status)

    assert [carried(stored(container, i)) for i in ids] == [
        ("https://93.184.216.34/cb", at, 90, "UCS-2", "cb-many", "scheduled")] * 3


def test_to_as_an_array_is_bounded_and_a_bulk_over_10000_is_refused(
    client: TestClient, account: Account
) -> None:
    many = client.post("/v1/sms/send", headers=account.headers, json={
        "to": [f"+4477009{i:05d}" for i in range(1001)], "from": "Acme", "body": "x"})
    assert many.status_code == 400 and many.json()["error"]["code"] == "VALIDATION_ERROR"
    bulk = client.post("/v1/sms/bulk", headers=account.headers, json={
        "from": "Acme", "body": "x",
        "recipients": [{"to": f"+4477{i:08d}"} for i in range(10_001)]})
    assert bulk.status_code == 400 and bulk.json()["error"]["code"] == "VALIDATION_ERROR"


# Form bodies (seed 004) -------------------------------------------------------


def test_a_form_encoded_send_works_like_json(
    client: TestClient, container: Container, account: Account
) -> None:
    body = urlencode({"to": "+447700900123", "from": "Acme", "body": "Hi {{n}}",
                      "variables[n]": "Bo", "unicode": "true", "validity_minutes": "30",
                      "client_ref": "form-1"})
    response = client.post("/v1/sms/send", content=body, headers={**account.headers, **FORM})
    assert response.status_code == 200, response.text
    message = stored(container, response.json()["data"]["id"])
    assert (message.body, message.encoding, message.validity_minutes, message.client_ref) == (
        "Hi Bo", "UCS-2", 30, "form-1")

    several = urlencode([("to", "+447700900001"), ("to", "+447700900002"), ("from", "Acme"),
                         ("body", "hi")])
    listed = client.post("/v1/sms/send", content=several, headers={**account.headers, **FORM})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["data"]["messages"]) == 2

    for bad in ({"to": "+447700900123", "from": "Acme", "body": "x", "status": "delivered"},
                {"to": "+447700900123", "from": "Acme", "body": "x", "unicode": "maybe"}):
        refused = client.post("/v1/sms/send", content=urlencode(bad),
                              headers={**account.headers, **FORM})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
        assert refused.json()["meta"]["request_id"].startswith("req_")


def test_a_form_send_is_idempotent_like_a_json_one(
    client: TestClient, account: Account
) -> None:
    headers = {**account.headers, **FORM, "Idempotency-Key": f"form-{uuid4()}"}
    body = urlencode({"to": "+447700900123", "from": "Acme", "body": "once"})
    first = client.post("/v1/sms/send", content=body, headers=headers)
    second = client.post("/v1/sms/send", content=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json()["data"]["id"] == first.json()["data"]["id"]
    assert second.headers["idempotent-replayed"] == "true"


# Body size limit --------------------------------------------------------------


@pytest.fixture
def small_client(database_url: str) -> Iterator[tuple[TestClient, Container]]:
    container = build(Settings.from_env({"SMSLEDGER_MAX_BODY_BYTES": "2048"}), database_url)
    try:
        with TestClient(create_app(container)) as test_client:
            yield test_client, container
    finally:
        container.close()


def test_a_body_over_the_configured_size_is_413_in_the_envelope(
    small_client: tuple[TestClient, Container],
) -> None:
    client, container = small_client
    account = Account(container)
    big = {"to": "+447700900123", "from": "Acme", "body": "x" * 3000}
    for extra in ({}, {"Idempotency-Key": f"big-{uuid4()}"}):
        response = client.post("/v1/sms/send", headers={**account.headers, **extra}, json=big)
        assert response.status_code == 413, response.text
        error = response.json()
        assert error["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert error["meta"]["request_id"].startswith("req_")
    form = client.post("/v1/sms/send", content=urlencode(big),
                       headers={**account.headers, **FORM})
    assert form.status_code == 413 and form.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    small = client.post("/v1/sms/send", headers=account.headers,
                        json={**big, "body": "fits"})
    assert small.status_code == 200, small.text


# The sandbox ------------------------------------------------------------------


def test_x_sandbox_sends_free_against_the_sandbox_wallet(
    client: TestClient, container: Container, account: Account
) -> None:
    before = live_balance(client, account)
    sandbox = {**account.headers, "X-Sandbox": "true"}
    sent = client.post("/v1/sms/send", headers=sandbox, json={
        "to": "+447700900123", "from": "NotApproved", "body": "test"})
    assert sent.status_code == 200, sent.text
    data = sent.json()["data"]
    assert (data["sandbox"], data["cost_micros"]) == (True, 0)
    message = stored(container, data["id"])
    assert message.sandbox is True
    assert message.wallet_id == ids.wallet_id(account.account_id, sandbox=True)
    bulk = client.post("/v1/sms/bulk", headers=sandbox, json={
        "from": "AnyBrand", "body": "b", "recipients": [{"to": "+447700900001"}]})
    assert bulk.json()["data"]["sandbox"] is True
    many = client.post("/v1/sms/send", headers=sandbox, json={
        "to": ["+447700900001"], "from": "AnyBrand", "body": "b"}).json()["data"]
    assert many["sandbox"] is True and many["messages"][0]["sandbox"] is True
    assert live_balance(client, account) == before
    assert client.get("/v1/billing/balance", headers=sandbox).json()["data"]["sandbox"] is True
    estimate = client.post("/v1/sms/estimate", headers=sandbox,
                           json={"to": "+447700900123", "body": "x"}).json()["data"]
    assert (estimate["sandbox"], estimate["cost_micros"]) == (True, 0)
    # Still a well-formed sender only, and a header that means something.
    too_long = client.post("/v1/sms/send", headers=sandbox, json={
        "to": "+447700900123", "from": "TwelveChars1", "body": "test"})
    assert too_long.json()["error"]["code"] == "INVALID_SENDER_ID"
    odd = client.post("/v1/sms/send", headers={**account.headers, "X-Sandbox": "maybe"},
                      json={"to": "+447700900123", "from": "Acme", "body": "x"})
    assert odd.status_code == 400


def test_a_test_key_stays_in_the_sandbox(client: TestClient, container: Container) -> None:
    account = Account(container, sandbox_key=True)
    sent = client.post("/v1/sms/send", headers={**account.headers, "X-Sandbox": "false"},
                       json={"to": "+447700900123", "from": "Whatever", "body": "x"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["data"]["sandbox"] is True


def test_sandbox_reset_hides_earlier_messages_and_refills_the_wallet(
    client: TestClient, container: Container, account: Account
) -> None:
    sandbox = {**account.headers, "X-Sandbox": "true"}
    live_id = client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "Acme", "body": "live"}).json()["data"]["id"]
    old_id = client.post("/v1/sms/send", headers=sandbox, json={
        "to": "+447700900123", "from": "Test", "body": "old"}).json()["data"]["id"]
    sandbox_wallet = ids.wallet_id(account.account_id, sandbox=True)
    container.wallets.adjust(sandbox_wallet, 5_000_000, "testing", "t-1")
    project_everything(container)
    listed = client.get("/v1/sms", headers=sandbox).json()["data"]
    assert [m["id"] for m in listed] == [old_id] and listed[0]["sandbox"] is True
    assert client.get(f"/v1/sms/{old_id}", headers=sandbox).json()["data"]["sandbox"] is True

    reset = client.post("/v1/sandbox/reset", headers=sandbox)
    assert reset.status_code == 200, reset.text
    done = reset.json()["data"]
    assert (done["sandbox"], done["balance_micros"]) == (True, 100_000_000)
    new_id = client.post("/v1/sms/send", headers=sandbox, json={
        "to": "+447700900123", "from": "Test", "body": "new"}).json()["data"]["id"]
    project_everything(container)
    assert [m["id"] for m in client.get("/v1/sms", headers=sandbox).json()["data"]] == [new_id]
    assert client.get(f"/v1/sms/{old_id}", headers=sandbox).status_code == 404
    assert client.get(f"/v1/sms/{new_id}", headers=sandbox).status_code == 200
    reports = client.get("/v1/reports/messages", headers=sandbox).json()
    assert reports["pagination"]["total"] == 1
    # Live data is untouched by a reset, even one asked with a live key.
    assert client.post("/v1/sandbox/reset", headers=account.headers).status_code == 200
    assert [m["id"] for m in client.get("/v1/sms", headers=account.headers).json()["data"]] == [
        live_id]
    balance = client.get("/v1/billing/balance", headers=sandbox).json()["data"]
    assert balance["balance_micros"] == 100_000_000
    assert live_balance(client, account)["balance_micros"] == OPENING_MICROS
    assert container.verifier.verify().ok


def test_sandbox_messages_go_to_the_sandbox_simulator_and_are_delivered(
    client: TestClient, container: Container, account: Account
) -> None:
    # A sandbox message sent now is settled as it is accepted; one that is
    # scheduled waits for the dispatcher, which hands it to the sandbox's
    # simulator once it is due.
    due = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    sandbox_id = UUID(client.post("/v1/sms/send", headers={**account.headers, "X-Sandbox": "1"},
                                  json={"to": "+447700900123", "from": "Test", "body": "s",
                                        "scheduled_at": due},
                                  ).json()["data"]["id"])
    live_id = UUID(client.post("/v1/sms/send", headers=account.headers, json={
        "to": "+447700900123", "from": "Acme", "body": "l"}).json()["data"]["id"])
    carriers = build_carriers(container.settings.carriers)
    index = PostgresReceiptIndex(container.pool)
    clock = _Clock(ahead=timedelta(minutes=2))
    dispatcher = Dispatcher(
        container.app, container.outcomes, RouteBook(load_routes(container.pool)), carriers,
        PostgresDispatchClaims(container.pool), index, clock,
        replies=PostgresReplyRoutes(container.pool), owner="test",
    )
    received: list[DeliveryReceipt] = []

    async def run() -> None:
        async def collect(receipt: DeliveryReceipt) -> None:
            received.append(receipt)

        for carrier in carriers.values():
            await carrier.start(collect, collect)  # type: ignore[arg-type]
        await dispatcher.dispatch([sandbox_id, live_id])
        await asyncio.sleep(0.3)  # the sandbox simulator's short delay
        for carrier in carriers.values():
            await carrier.stop()

    asyncio.run(run())
    assert [r.carrier for r in received] == ["sandbox"]  # the live one reports later
    ReceiptProcessor(container.outcomes, index, clock).process(received)
    delivered = stored(container, str(sandbox_id))
    assert (delivered.status, delivered.carrier) == ("delivered", "sandbox")
    assert stored(container, str(live_id)).carrier == "simulated"
    assert live_balance(client, account)["balance_micros"] == OPENING_MICROS


class _Clock:
    def __init__(self, ahead: timedelta = timedelta(0)) -> None:
        self._ahead = ahead

    def now(self) -> datetime:
        return datetime.now(UTC) + self._ahead

    def monotonic(self) -> float:
        return time.monotonic()


def test_openapi_lists_the_surface_operations(client: TestClient) -> None:
    document = client.get("/openapi/openapi.json").json()
    operations = {op["operationId"] for path in document["paths"].values()
                  for op in path.values()}
    assert {"listTemplates", "createTemplate", "getTemplate", "updateTemplate",
            "deleteTemplate", "listSenderIds", "requestSenderId", "approveSenderId",
            "rejectSenderId", "getNotificationSettings", "updateNotificationSettings",
            "resetSandbox"} <= operations
    send = document["paths"]["/v1/sms/send"]["post"]
    assert "template_id" in json.dumps(document["components"]["schemas"]["SendSmsRequest"])
    assert send["responses"]["200"]


def test_an_idempotency_key_used_in_the_sandbox_does_not_replay_live(
    client: TestClient, container: Container, account: Account
) -> None:
    key = {"Idempotency-Key": f"shared-{uuid4()}"}
    payload = {"to": "+447700900123", "from": "Acme", "body": "same"}
    sandboxed = client.post("/v1/sms/send", json=payload,
                            headers={**account.headers, **key, "X-Sandbox": "true"})
    live = client.post("/v1/sms/send", json=payload, headers={**account.headers, **key})
    assert sandboxed.status_code == live.status_code == 200, live.text
    assert "idempotent-replayed" not in live.headers
    assert (sandboxed.json()["data"]["sandbox"], live.json()["data"]["sandbox"]) == (True, False)
    assert stored(container, live.json()["data"]["id"]).sandbox is False
    again = client.post("/v1/sms/send", json=payload, headers={**account.headers, **key})
    assert again.json()["data"]["id"] == live.json()["data"]["id"]
    assert again.headers["idempotent-replayed"] == "true"
