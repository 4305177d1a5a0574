"""Inbound replies, STOP/START opt-outs, and HTTP carrier callbacks, through
the API on real PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.dispatcher.worker import ReceiptCollector
from adapters.eventstore.envelopes import envelopes_of
from application.delivery.outcomes import Outcome, OutcomeKind
from application.delivery.ports import AwaitedReceipt
from domain.inbound import opt_action_of
from domain.wallet import TopUpSource
from projections.registry import by_name
from tests.support.replies import handed_to_carrier
from tests.support.senders import approve_sender

PHONE = "+447700900555"


@pytest.fixture
def route(container: Container) -> tuple[str, str]:
    name, secret = f"http-{uuid4().hex[:8]}", f"s-{uuid4().hex}"
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO routes (name, prefix, carrier, messages_per_second, receipt_policy,"
            " callback_secret_sha256, active) VALUES (%s, '+999', %s, 10, 'receipts', %s, true)",
            (name, name, hashlib.sha256(secret.encode()).digest()),
        )
    return name, secret


@pytest.fixture
def account(container: Container) -> dict[str, str]:
    profile = container.accounts.create_account("Replies Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 5_000_000, TopUpSource.ADJUSTMENT, "opening")
    approve_sender(container, profile.account_id)
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    return {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret,
            "account_id": profile.account_id}


def _project(container: Container, *projections: str) -> None:
    """Apply every stored event to the named read models, as the live
    runner would (this test runs no NATS)."""
    notifications = container.app.recorder.select_notifications(1, 1_000_000)
    envelopes = envelopes_of(container.app.mapper, notifications)
    with container.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        for name in projections:
            projection = by_name(name)
            cur.execute(f"TRUNCATE {', '.join(projection.tables)}")
            projection.apply(cur, [e for e in envelopes if e.type in projection.event_types])


def _headers(account: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in account.items() if k.startswith("X-")}


def _send(client: TestClient, account: dict[str, str], to: str = PHONE):
    return client.post("/v1/sms/send", headers=_headers(account),
                       json={"to": to, "from": "Acme", "body": "hi"})


def test_keywords_are_whole_trimmed_words_in_any_case() -> None:
    assert [str(opt_action_of(b)) for b in (" stop ", "Unsubscribe", "STOP please", "start",
                                           "UnStop", "hello")] == [
        "opt_out", "opt_out", "", "opt_in", "opt_in", ""]


def test_stop_then_send_is_refused_and_charges_nothing(
    client: TestClient, container: Container, account: dict[str, str], route: tuple[str, str]
) -> None:
    name, secret = route
    assert _send(client, account).status_code == 200
    handed_to_carrier(container, account["account_id"], PHONE)
    reply = client.post(f"/v1/carrier/{name}/inbound", headers={"X-Carrier-Secret": secret},
                        json={"from": PHONE, "to": "Acme", "body": " Stop "})
    assert reply.status_code == 200, reply.text
    before = client.get("/v1/billing/balance", headers=_headers(account)).json()["data"]
    refused = _send(client, account)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "OPT_OUT"
    after = client.get("/v1/billing/balance", headers=_headers(account)).json()["data"]
    assert after == before
    bulk = client.post("/v1/sms/bulk", headers=_headers(account), json={
        "from": "Acme", "body": "hi", "recipients": [{"to": PHONE}, {"to": "+447700900556"}]})
    assert bulk.json()["data"]["rejections"][0]["code"] == "OPT_OUT"
    assert bulk.json()["data"]["accepted"] == 1
    client.post(f"/v1/carrier/{name}/inbound", headers={"X-Carrier-Secret": secret},
                json={"from": PHONE, "to": "Acme", "body": "START"})
    assert _send(client, account).status_code == 200
    _project(container, "inbound")
    listed = client.get("/v1/inbound", headers=_headers(account)).json()
    assert [row["body"] for row in listed["data"]] == ["START", " Stop "]
    assert all(row["direction"] == "incoming" and row["from"] == PHONE
               for row in listed["data"])
    with container.pool.connection() as conn:
        with pytest.raises(Exception, match="append-only"):
            conn.execute("DELETE FROM opt_outs")


@pytest.fixture
def gb_route(container: Container) -> Iterator[tuple[str, str]]:
    """An HTTP carrier's route for +44: national numbers it reports are GB's."""
    name, secret = f"http-gb-{uuid4().hex[:8]}", f"s-{uuid4().hex}"
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO routes (name, prefix, carrier, messages_per_second, receipt_policy,"
            " callback_secret_sha256, active) VALUES (%s, '+44', %s, 10, 'receipts', %s, true)",
            (name, name, hashlib.sha256(secret.encode()).digest()),
        )
    try:
        yield name, secret
    finally:  # other tests route +44 by the default route
        with container.pool.connection() as conn:
            conn.execute("DELETE FROM routes WHERE name = %s", (name,))


def test_a_stop_from_a_nationally_written_number_opts_it_out(
    client: TestClient, container: Container, account: dict[str, str],
    gb_route: tuple[str, str],
) -> None:
    name, secret = gb_route
    number = "+447700900777"
    assert _send(client, account, number).status_code == 200
    handed_to_carrier(container, account["account_id"], number)
    for written, body in (("07700 900-777", "STOP"), ("447700900777", "START"),
                          ("0044 7700 900777", "STOP")):
        reply = client.post(f"/v1/carrier/{name}/inbound", headers={"X-Carrier-Secret": secret},
                            json={"from": written, "to": "Acme", "body": body})
        assert reply.status_code == 200, reply.text
        assert (number in container.opt_outs.opted_out(account["account_id"])) == (
            body == "STOP"), written
    for written in (number, "447700900777", "07700900777", "07700-900-777"):
        refused = _send(client, account, written)
        assert refused.status_code == 422, (written, refused.text)
        assert refused.json()["error"]["code"] == "OPT_OUT"


def test_carrier_callbacks_need_the_routes_secret(
    client: TestClient, route: tuple[str, str]
) -> None:
    name, _secret = route
    for headers in ({}, {"X-Carrier-Secret": "wrong"}):
        response = client.post(f"/v1/carrier/{name}/dlr", headers=headers,
                               json={"message_id": "x", "status": "DELIVRD"})
        assert response.status_code == 401
    unknown = client.post("/v1/carrier/no-such-route/dlr", headers={"X-Carrier-Secret": "x"},
                          json={"message_id": "x", "status": "DELIVRD"})
    assert unknown.status_code == 401


def test_a_receipt_callback_delivers_and_captures(
    client: TestClient, container: Container, account: dict[str, str], route: tuple[str, str]
) -> None:
    name, secret = route
    message_id = UUID(_send(client, account).json()["data"]["id"])
    container.outcomes.record([Outcome(message_id, OutcomeKind.SUBMITTED, name, "carrier-77")])
    container.receipts._index.add([AwaitedReceipt(
        message_id, name, "carrier-77", datetime.now(UTC) + timedelta(days=3), False)])
    response = client.post(f"/v1/carrier/{name}/dlr", headers={"X-Carrier-Secret": secret},
                           json={"message_id": "carrier-77", "status": "delivrd",
                                 "error_code": "000", "vendor_field": 1})
    assert response.status_code == 200, response.text
    _settle_as_the_dispatcher(container)
    message = container.app.repository.get(message_id)
    assert (message.status, message.carrier_status, message.charge) == (
        "delivered", "DELIVRD", "captured")


def _settle_as_the_dispatcher(container: Container) -> None:
    """One round of the dispatcher's receipt side."""
    asyncio.run(ReceiptCollector(container.receipts, container.inbound).flush())


def _submitted(
    client: TestClient, container: Container, account: dict[str, str], route: str,
    carrier_id: str, to: str = PHONE,
) -> UUID:
    message_id = UUID(_send(client, account, to).json()["data"]["id"])
    container.outcomes.record([Outcome(message_id, OutcomeKind.SUBMITTED, route, carrier_id)])
    container.receipts._index.add([AwaitedReceipt(
        message_id, route, carrier_id, datetime.now(UTC) + timedelta(days=3), False)])
    return message_id


def _post_receipt(
    client: TestClient, route: tuple[str, str], carrier_id: str, status: str = "DELIVRD"
) -> None:
    name, secret = route
    response = client.post(f"/v1/carrier/{name}/dlr", headers={"X-Carrier-Secret": secret},
                           json={"message_id": carrier_id, "status": status})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": True}


def _stored_receipts(container: Container, route: str) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FROM received_receipts WHERE carrier = %s", (route,)).fetchone()
    assert row is not None
    return int(row[0])


def test_posted_receipts_outlive_the_api_and_settle_in_one_batch(
    client: TestClient, container: Container, database_url: str, account: dict[str, str],
    route: tuple[str, str],
) -> None:
    name = route[0]
    reports = {"c-1": "DELIVRD", "c-2": "delivrd", "c-3": "UNDELIV"}
    ids = {carrier_id: _submitted(client, container, account, name, carrier_id,
                                  f"+44770090056{i}")
           for i, carrier_id in enumerate(reports)}
    wallet_id = container.app.repository.get(ids["c-1"]).wallet_id
    before = container.wallets.balance(wallet_id)
    for carrier_id, status in reports.items():
        _post_receipt(client, route, carrier_id, status)
    # Answered, stored, and not settled by the API process.
    assert _stored_receipts(container, name) == 3
    assert {container.app.repository.get(i).status for i in ids.values()} == {"sent"}

    # The API process is gone; a dispatcher of another process settles them.
    dispatcher_side = build(Settings.from_env({}), database_url)
    try:
        _settle_as_the_dispatcher(dispatcher_side)
    finally:
        dispatcher_side.close()
    messages = {c: container.app.repository.get(i) for c, i in ids.items()}
    assert {c: (m.status, m.charge) for c, m in messages.items()} == {
        "c-1": ("delivered", "captured"), "c-2": ("delivered", "captured"),
        "c-3": ("failed", "released")}
    after = container.wallets.balance(wallet_id)
    assert after.version == before.version + 1  # one settlement for the batch
    captured = messages["c-1"].price_micros + messages["c-2"].price_micros
    assert after.balance_micros == before.balance_micros - captured
    assert after.reserved_micros == before.reserved_micros - captured \
        - messages["c-3"].price_micros
    assert _stored_receipts(container, name) == 0


def test_a_duplicate_receipt_is_settled_once(
    client: TestClient, container: Container, account: dict[str, str], route: tuple[str, str]
) -> None:
    message_id = _submitted(client, container, account, route[0], "dup-1")
    message = container.app.repository.get(message_id)
    before = container.wallets.balance(message.wallet_id)
    _post_receipt(client, route, "dup-1")
    _post_receipt(client, route, "dup-1")  # in the same batch
    _settle_as_the_dispatcher(container)
    _post_receipt(client, route, "dup-1")  # in a later one
    _settle_as_the_dispatcher(container)
    settled = container.app.repository.get(message_id)
    assert (settled.status, settled.charge) == ("delivered", "captured")
    assert settled.version == message.version + 1  # one DeliveryReported
    after = container.wallets.balance(message.wallet_id)
    assert after.version == before.version + 1
    assert after.balance_micros == before.balance_micros - message.price_micros
    assert _stored_receipts(container, route[0]) == 0


def test_a_receipt_posted_before_its_submit_is_known_is_parked_then_settled(
    client: TestClient, container: Container, account: dict[str, str], route: tuple[str, str]
) -> None:
    name = route[0]
    message_id = UUID(_send(client, account).json()["data"]["id"])
    _post_receipt(client, route, "early-1")
    _settle_as_the_dispatcher(container)
    with container.pool.connection() as conn:
        parked = conn.execute("SELECT count(*) FROM parked_receipts WHERE carrier = %s"
                              " AND carrier_message_id = 'early-1'", (name,)).fetchone()
    assert parked == (1,)
    container.outcomes.record([Outcome(message_id, OutcomeKind.SUBMITTED, name, "early-1")])
    container.receipts._index.add([AwaitedReceipt(
        message_id, name, "early-1", datetime.now(UTC) + timedelta(days=3), False)])
    assert container.receipts.retry_parked().applied == 1
    message = container.app.repository.get(message_id)
    assert (message.status, message.charge) == ("delivered", "captured")
