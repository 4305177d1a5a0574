"""The HTTP surface on a real container: envelopes, error codes, auth."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.bootstrap.infrastructure import migrate_database
from adapters.http.app import create_app
from domain.wallet import TopUpSource
from tests.support.senders import approve_sender


@pytest.fixture
def account(container: Container) -> dict[str, str]:
    profile = container.accounts.create_account("Http Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 1_000_000, TopUpSource.ADJUSTMENT, "opening")
    approve_sender(container, profile.account_id)
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    return {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}


def test_send_answers_in_the_envelope(client: TestClient, account: dict[str, str]) -> None:
    response = client.post("/v1/sms/send", headers=account, json={
        "to": "+447700900123", "from": "Acme", "body": "hi", "client_ref": "abc"})
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["request_id"].startswith("req_")
    assert response.headers["x-request-id"] == body["meta"]["request_id"]
    assert body["data"]["status"] == "queued"
    assert body["data"]["cost"] * 1_000_000 == pytest.approx(body["data"]["cost_micros"])


@pytest.mark.parametrize(
    ("payload", "code", "status"),
    [
        ({"to": "+447700900123", "from": "Acme", "body": "hi", "price": 0},
         "VALIDATION_ERROR", 400),
        ({"to": "+447700900123", "from": "Acme"}, "VALIDATION_ERROR", 400),
        ({"to": "+4477", "from": "Acme", "body": "hi"}, "INVALID_PHONE_NUMBER", 400),
        ({"to": "+447700900123", "from": "far too long sender", "body": "hi"},
         "VALIDATION_ERROR", 400),
        ({"to": "+447700900123", "from": "Bad!Sender", "body": "hi"}, "INVALID_SENDER_ID", 400),
        ({"to": "+447700900123", "from": "Acme", "body": "€" * 766},
         "MESSAGE_TOO_LONG", 400),
        ({"to": "+447700900123", "from": "Acme", "body": "Hi {{name}}"},
         "MISSING_VARIABLE", 400),
    ],
)
def test_bad_input_gets_the_seed_codes(
    client: TestClient, account: dict[str, str], payload: dict[str, object], code: str,
    status: int,
) -> None:
    response = client.post("/v1/sms/send", headers=account, json=payload)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_insufficient_balance_names_required_and_available(
    client: TestClient, account: dict[str, str]
) -> None:
    recipients = [{"to": f"+4477009{i:05d}"} for i in range(40)]
    response = client.post("/v1/sms/bulk", headers=account, json={
        "recipients": recipients, "from": "Acme", "body": "hi"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INSUFFICIENT_BALANCE"
    assert error["details"]["available"] == 1_000_000
    assert error["details"]["required"] > 1_000_000


def test_credentials_are_required(client: TestClient, account: dict[str, str]) -> None:
    assert client.get("/v1/billing/balance").json()["error"]["code"] == "UNAUTHORIZED"
    wrong = {**account, "X-API-Secret": "sk_live_wrong"}
    assert client.get("/v1/billing/balance", headers=wrong).status_code == 401
    assert client.get("/v1/billing/balance", headers=account).status_code == 200


def test_a_repeated_idempotency_key_replays_the_first_response(
    client: TestClient, account: dict[str, str], container: Container
) -> None:
    headers = {**account, "Idempotency-Key": f"order-{uuid4()}"}
    payload = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    first = client.post("/v1/sms/send", headers=headers, json=payload)
    second = client.post("/v1/sms/send", headers=headers, json=payload)
    assert first.status_code == second.status_code == 200
    assert second.json()["data"] == first.json()["data"]
    assert second.headers["idempotent-replayed"] == "true"
    balance = client.get("/v1/billing/balance", headers=account).json()["data"]
    assert balance["reserved_micros"] == first.json()["data"]["cost_micros"]
    changed = client.post("/v1/sms/send", headers=headers, json={**payload, "body": "other"})
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_an_idempotency_key_still_in_flight_is_a_conflict(
    client: TestClient, account: dict[str, str], container: Container
) -> None:
    import hashlib

    key = f"k-{uuid4()}"
    body = b'{"to":"+447700900123","from":"Acme","body":"hi"}'
    principal = container.accounts.authenticate(account["X-API-Key"], account["X-API-Secret"])
    assert principal is not None
    digest = hashlib.sha256(b"POST /v1/sms/send\n" + body).digest()
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO idempotency_keys (account_id, key, request_sha256) VALUES (%s, %s, %s)",
            (principal.account_id, key, digest))
    response = client.post("/v1/sms/send", content=body, headers={
        **account, "Idempotency-Key": key, "Content-Type": "application/json"})
    assert response.status_code == 409
    assert "in progress" in response.json()["error"]["message"]


def test_idempotency_keys_belong_to_their_account(
    client: TestClient, account: dict[str, str], container: Container
) -> None:
    profile = container.accounts.create_account("Other Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 1_000_000, TopUpSource.ADJUSTMENT, "opening")
    approve_sender(container, profile.account_id)
    other_key = container.accounts.issue_key(profile.account_id, sandbox=False)
    other = {"X-API-Key": other_key.api_key, "X-API-Secret": other_key.api_secret}
    key = {"Idempotency-Key": f"shared-{uuid4()}"}
    payload = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    mine = client.post("/v1/sms/send", headers={**account, **key}, json=payload)
    theirs = client.post("/v1/sms/send", headers={**other, **key}, json=payload)
    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["data"]["id"] != theirs.json()["data"]["id"]


def test_readiness_reports_an_unreachable_nats(container: Container) -> None:
    broken = replace(container, nats_url="nats://127.0.0.1:1")
    with TestClient(create_app(broken)) as test_client:
        response = test_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"postgres": "ok", "nats": "unreachable"}


def test_openapi_document_lists_the_operations(client: TestClient) -> None:
    document = client.get("/openapi/openapi.json").json()
    operation_ids = {
        operation["operationId"]
        for path in document["paths"].values() for operation in path.values()
    }
    assert {"sendSms", "sendBulkSms", "getBalance", "getHealth", "getReadiness"} <= operation_ids


def test_migrate_is_idempotent(database_url: str) -> None:
    assert migrate_database(database_url) == []


def test_a_scheduled_message_can_be_cancelled_and_its_price_released(
    client: TestClient, account: dict[str, str]
) -> None:
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    sent = client.post("/v1/sms/send", headers=account, json={
        "to": "+447700900123", "from": "Acme", "body": "later", "scheduled_at": later})
    assert sent.status_code == 200, sent.text
    assert sent.json()["data"]["status"] == "scheduled"
    message_id = sent.json()["data"]["id"]
    held = client.get("/v1/billing/balance", headers=account).json()["data"]["reserved_micros"]
    assert held == sent.json()["data"]["cost_micros"]
    cancelled = client.post(f"/v1/sms/{message_id}/cancel", headers=account)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert client.get("/v1/billing/balance", headers=account).json()["data"]["reserved_micros"] == 0
    again = client.post(f"/v1/sms/{message_id}/cancel", headers=account)
    assert again.status_code == 200  # cancelling twice is harmless
    other = client.post(f"/v1/sms/{uuid4()}/cancel", headers=account)
    assert other.status_code == 404


def test_schedules_in_the_past_or_too_far_ahead_are_refused(
    client: TestClient, account: dict[str, str]
) -> None:
    from datetime import UTC, datetime, timedelta

    for when in (datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(days=31)):
        response = client.post("/v1/sms/send", headers=account, json={
            "to": "+447700900123", "from": "Acme", "body": "x", "scheduled_at": when.isoformat()})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
