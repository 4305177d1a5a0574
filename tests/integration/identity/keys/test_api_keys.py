"""/v1/settings/api-keys and the accepted credential forms, over HTTP on a
real container and database."""

from __future__ import annotations

from uuid import uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from domain.api_keys import PERMISSIONS
from tests.support.owner_keys import create_key, new_account, pair


@pytest.fixture
def owner(container: Container) -> dict[str, str]:
    return new_account(container)


def test_the_secret_is_shown_once_and_stored_only_as_a_hash(
    client: TestClient, owner: dict[str, str], container: Container
) -> None:
    created = create_key(client, owner, ["sms.send", "billing.read", "reports.read"],
                         name="Production Server")
    assert created["key"].startswith("bsms_live_")
    assert created["secret"].startswith("sk_live_")
    assert created["permissions"] == ["sms.send", "billing.read", "reports.read"]
    assert created["mode"] == "live" and created["sandbox"] is False
    listed = client.get("/v1/settings/api-keys", headers=owner)
    assert listed.status_code == 200
    mine = [k for k in listed.json()["data"] if k["id"] == created["id"]]
    assert len(mine) == 1 and mine[0]["name"] == "Production Server"
    assert "secret" not in mine[0]
    assert created["secret"] not in listed.text
    with container.pool.connection() as conn:
        row = conn.execute("SELECT secret_sha256 FROM api_keys WHERE id = %s",
                           (created["id"],)).fetchone()
    assert row is not None and created["secret"].encode() not in bytes(row[0])
    assert client.get("/v1/billing/balance", headers=pair(created)).status_code == 200


def test_an_account_holds_at_most_ten_active_keys(
    client: TestClient, owner: dict[str, str]
) -> None:
    made = [create_key(client, owner, ["sms.read"], name=f"k{i}") for i in range(9)]
    refused = client.post("/v1/settings/api-keys", headers=owner, json={
        "name": "eleventh", "permissions": ["sms.read"]})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "CONFLICT"
    assert error["details"] == {"limit": 10, "active": 10}
    assert "at most 10" in error["message"]
    assert client.delete(f"/v1/settings/api-keys/{made[0]['id']}", headers=owner).status_code == 200
    create_key(client, owner, ["sms.read"], name="replacement")


@pytest.mark.parametrize(
    ("payload", "code", "status"),
    [
        ({"name": "x", "permissions": ["sms.send", "sms.delete"]}, "VALIDATION_ERROR", 400),
        ({"name": "x", "permissions": []}, "VALIDATION_ERROR", 400),
        ({"name": "", "permissions": ["sms.send"]}, "VALIDATION_ERROR", 400),
        ({"name": "x", "permissions": ["sms.send"], "mode": "prod"}, "VALIDATION_ERROR", 400),
        ({"name": "x", "permissions": ["sms.send"], "account_id": "other"},
         "VALIDATION_ERROR", 400),
        ({"name": "x", "permissions": ["sms.send"], "secret": "chosen"}, "VALIDATION_ERROR", 400),
    ],
)
def test_bad_key_requests_are_refused(
    client: TestClient, owner: dict[str, str], payload: dict[str, object], code: str,
    status: int,
) -> None:
    response = client.post("/v1/settings/api-keys", headers=owner, json=payload)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_unknown_permissions_are_named(client: TestClient, owner: dict[str, str]) -> None:
    response = client.post("/v1/settings/api-keys", headers=owner, json={
        "name": "x", "permissions": ["sms.send", "admin.everything"]})
    details = response.json()["error"]["details"]
    assert details["unknown"] == ["admin.everything"]
    assert details["allowed"] == list(PERMISSIONS)


def test_managing_keys_needs_settings_write_and_cannot_escalate(
    client: TestClient, owner: dict[str, str]
) -> None:
    reader = pair(create_key(client, owner, ["sms.read"]))
    for response in (
        client.get("/v1/settings/api-keys", headers=reader),
        client.post("/v1/settings/api-keys", headers=reader,
                    json={"name": "x", "permissions": ["sms.read"]}),
        client.delete(f"/v1/settings/api-keys/{uuid4()}", headers=reader),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "FORBIDDEN"
    manager = pair(create_key(client, owner, ["settings.write", "sms.read"]))
    stronger = client.post("/v1/settings/api-keys", headers=manager,
                           json={"name": "x", "permissions": ["sms.send"]})
    assert stronger.status_code == 403
    assert stronger.json()["error"]["details"] == {"missing": ["sms.send"]}
    create_key(client, manager, ["sms.read"])


def test_test_keys_are_sandbox_keys_and_make_only_test_keys(
    client: TestClient, owner: dict[str, str]
) -> None:
    created = create_key(client, owner, list(PERMISSIONS), mode="test")
    assert created["key"].startswith("bsms_test_")
    assert created["secret"].startswith("sk_test_")
    assert created["sandbox"] is True
    test_key = pair(created)
    balance = client.get("/v1/billing/balance", headers=test_key).json()["data"]
    assert balance["sandbox"] is True
    live = client.post("/v1/settings/api-keys", headers=test_key,
                       json={"name": "x", "permissions": ["sms.read"], "mode": "live"})
    assert live.status_code == 403
    assert create_key(client, test_key, ["sms.read"], mode="test")["sandbox"] is True


def test_a_revoked_key_stops_at_once_and_another_accounts_key_is_not_found(
    client: TestClient, owner: dict[str, str], container: Container
) -> None:
    created = create_key(client, owner, ["billing.read"])
    key = pair(created)
    assert client.get("/v1/billing/balance", headers=key).status_code == 200  # now cached
    other_owner = new_account(container, "Other Ltd")
    theirs = client.delete(f"/v1/settings/api-keys/{created['id']}", headers=other_owner)
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/v1/billing/balance", headers=key).status_code == 200
    revoked = client.delete(f"/v1/settings/api-keys/{created['id']}", headers=owner)
    assert revoked.status_code == 200
    assert revoked.json()["data"] == {"id": created["id"], "revoked": True}
    after = client.get("/v1/billing/balance", headers=key)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "UNAUTHORIZED"
    again = client.delete(f"/v1/settings/api-keys/{created['id']}", headers=owner)
    assert again.status_code == 404
    listed = client.get("/v1/settings/api-keys", headers=owner).json()["data"]
    assert created["id"] not in {k["id"] for k in listed}


def test_every_credential_form_is_accepted(client: TestClient, owner: dict[str, str]) -> None:
    created = create_key(client, owner, ["billing.read"])
    combined = f"{created['key']}:{created['secret']}"
    assert combined.count(".") == 0  # never shaped like a JWT
    for headers in (
        pair(created),
        {"X-API-Key": combined},
        {"Authorization": f"Bearer {combined}"},
        {"Authorization": f"bearer {combined}"},
    ):
        response = client.get("/v1/billing/balance", headers=headers)
        assert response.status_code == 200, (headers, response.text)
        assert response.headers["x-ratelimit-limit"] == "100"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "bsms_live_nope"},
        {"X-API-Key": "bsms_live_nope", "X-API-Secret": "sk_live_nope"},
        {"X-API-Key": "bsms_live_nope:sk_live_nope"},
        {"Authorization": "Bearer bsms_live_nope:sk_live_nope"},
        {"Authorization": "Bearer bsms_at_unknown"},
        {"Authorization": "Bearer something-else"},
        {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "k" * 500, "X-API-Secret": "s"},
    ],
    ids=["none", "key-alone", "wrong-pair", "wrong-combined", "wrong-bearer", "unknown-token",
         "odd-bearer", "jwt-shaped", "basic", "too-long"],
)
def test_bad_credentials_are_unauthorized(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.get("/v1/billing/balance", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert "x-ratelimit-limit" not in response.headers


def test_a_right_key_with_a_wrong_secret_is_unauthorized(
    client: TestClient, owner: dict[str, str]
) -> None:
    created = create_key(client, owner, ["billing.read"])
    assert client.get("/v1/billing/balance", headers=pair(created)).status_code == 200
    for headers in (
        {"X-API-Key": created["key"], "X-API-Secret": created["secret"] + "x"},
        {"X-API-Key": f"{created['key']}:{owner['X-API-Secret']}"},
        {"Authorization": f"Bearer {created['key']}:{created['secret'][:-1]}"},
    ):
        assert client.get("/v1/billing/balance", headers=headers).status_code == 401


def test_idempotent_sends_work_with_a_combined_token(
    client: TestClient, owner: dict[str, str]
) -> None:
    created = create_key(client, owner, ["sms.send"])
    headers = {"Authorization": f"Bearer {created['key']}:{created['secret']}",
               "Idempotency-Key": f"k-{uuid4()}"}
    payload = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    first = client.post("/v1/sms/send", headers=headers, json=payload)
    second = client.post("/v1/sms/send", headers=headers, json=payload)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("idempotent-replayed") == "true"
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
