"""Templates, sender IDs, notification preferences and the operators'
sender-ID decisions, through HTTP on a real container and database."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from application.errors import ValidationFailed
from domain.errors import InvalidTransition
from domain.wallet import TopUpSource
from tests.support.accounts import Account
from tests.support.keys import narrow_key


def new_account(container: Container, name: str = "Surface") -> Account:
    profile = container.accounts.create_account(f"{name} {uuid4().hex[:6]}", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 10_000_000, TopUpSource.ADJUSTMENT, "opening")
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    return Account(profile.account_id, {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret})


def restrict(container: Container, account: Account, permissions: list[str]) -> None:
    """Use a key holding only `permissions` from now on."""
    account.headers.update(narrow_key(container, account.account_id, permissions))


@pytest.fixture
def account(container: Container) -> Account:
    return new_account(container)


# Templates -------------------------------------------------------------------


def test_template_crud_extracts_variables_and_keeps_names_unique(
    client: TestClient, account: Account
) -> None:
    created = client.post("/v1/templates", headers=account.headers, json={
        "name": "Welcome", "content": "Hi {{name}}, code {{ code }}; bye {{name}}"})
    assert created.status_code == 201, created.text
    template = created.json()["data"]
    assert template["variables"] == ["name", "code"]
    assert created.json()["meta"]["request_id"].startswith("req_")

    again = client.post("/v1/templates", headers=account.headers,
                        json={"name": "Welcome", "content": "other"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"

    url = f"/v1/templates/{template['id']}"
    assert client.get(url, headers=account.headers).json()["data"]["content"].startswith("Hi")
    patched = client.patch(url, headers=account.headers, json={"content": "Yo {{first}}"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["variables"] == ["first"]
    assert patched.json()["data"]["name"] == "Welcome"

    client.post("/v1/templates", headers=account.headers,
                json={"name": "Second", "content": "plain"})
    clash = client.patch(url, headers=account.headers, json={"name": "Second"})
    assert clash.status_code == 409

    listed = client.get("/v1/templates", headers=account.headers,
                        params={"page_size": 1}).json()
    assert listed["pagination"]["total"] == 2 and listed["pagination"]["has_more"] is True
    rest = client.get("/v1/templates", headers=account.headers,
                      params={"page_size": 1, "cursor": listed["pagination"]["cursor"]}).json()
    assert {listed["data"][0]["name"], rest["data"][0]["name"]} == {"Welcome", "Second"}

    assert client.delete(url, headers=account.headers).status_code == 204
    gone = client.get(url, headers=account.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"
    assert client.delete(url, headers=account.headers).status_code == 404


def test_another_accounts_template_is_not_found(
    client: TestClient, container: Container, account: Account
) -> None:
    other = new_account(container, "Other")
    mine = client.post("/v1/templates", headers=account.headers,
                       json={"name": "Mine", "content": "secret {{x}}"}).json()["data"]
    url = f"/v1/templates/{mine['id']}"
    for response in (
        client.get(url, headers=other.headers),
        client.patch(url, headers=other.headers, json={"content": "stolen"}),
        client.delete(url, headers=other.headers),
    ):
        assert response.status_code == 404, response.text
        assert "secret" not in response.text
    # The same name is free in another account.
    assert client.post("/v1/templates", headers=other.headers,
                       json={"name": "Mine", "content": "mine too"}).status_code == 201
    assert client.get(url, headers=account.headers).json()["data"]["content"] == "secret {{x}}"


@pytest.mark.parametrize("payload", [
    {"name": "x", "content": "y", "account_id": "someone-else"},
    {"name": "x", "content": "y", "variables": ["z"]},
    {"name": "", "content": "y"},
    {"name": "x", "content": "   "},
    {"name": "x", "content": "nul \u0000 inside"},
    {"name": "n\u0000", "content": "y"},
    {"name": "x"},
])
def test_bad_template_bodies_are_validation_errors(
    client: TestClient, account: Account, payload: dict[str, object]
) -> None:
    response = client.post("/v1/templates", headers=account.headers, json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_templates_need_their_permissions(
    client: TestClient, container: Container, account: Account
) -> None:
    restrict(container, account, ["templates.read"])
    assert client.get("/v1/templates", headers=account.headers).status_code == 200
    denied = client.post("/v1/templates", headers=account.headers,
                         json={"name": "n", "content": "c"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "FORBIDDEN"
    restrict(container, account, ["sms.send"])
    assert client.get("/v1/templates", headers=account.headers).status_code == 403


# Sender IDs ------------------------------------------------------------------


def test_a_requested_sender_id_is_pending_then_approved_by_an_operator(
    client: TestClient, container: Container, account: Account
) -> None:
    requested = client.post("/v1/settings/sender-ids", headers=account.headers,
                            json={"sender_id": "MyBrand", "purpose": "order updates"})
    assert requested.status_code == 201, requested.text
    record = requested.json()["data"]
    assert (record["status"], record["kind"], record["decided_at"]) == (
        "pending", "alphanumeric", None)
    duplicate = client.post("/v1/settings/sender-ids", headers=account.headers,
                            json={"sender_id": "MyBrand"})
    assert duplicate.status_code == 409

    send = {"to": "+447700900123", "from": "MyBrand", "body": "hi"}
    pending = client.post("/v1/sms/send", headers=account.headers, json=send)
    assert pending.status_code == 400
    assert pending.json()["error"]["code"] == "INVALID_SENDER_ID"

    approved = container.sender_ids.approve(uuid_of(record), operator=uuid4())
    assert approved.status == "approved" and approved.decided_at is not None
    assert client.post("/v1/sms/send", headers=account.headers, json=send).status_code == 200
    listed = client.get("/v1/settings/sender-ids", headers=account.headers).json()
    assert [(r["sender_id"], r["status"]) for r in listed["data"]] == [("MyBrand", "approved")]
    # Decided once: a second decision is a conflict.
    with pytest.raises(InvalidTransition) as raised:
        container.sender_ids.reject(uuid_of(record), "too late", operator=None)
    assert raised.value.code == "CONFLICT"


def test_a_rejected_sender_id_keeps_its_reason_and_may_be_asked_again(
    client: TestClient, container: Container, account: Account
) -> None:
    record = client.post("/v1/settings/sender-ids", headers=account.headers,
                         json={"sender_id": "BigBank"}).json()["data"]
    rejected = container.sender_ids.reject(uuid_of(record), "Brand not owned", operator=None)
    assert (rejected.status, rejected.rejection_reason) == ("rejected", "Brand not owned")
    refused = client.post("/v1/sms/send", headers=account.headers,
                          json={"to": "+447700900123", "from": "BigBank", "body": "hi"})
    assert refused.json()["error"]["code"] == "INVALID_SENDER_ID"
    listed = client.get("/v1/settings/sender-ids", headers=account.headers).json()["data"]
    assert listed[0]["rejection_reason"] == "Brand not owned"
    again = client.post("/v1/settings/sender-ids", headers=account.headers,
                        json={"sender_id": "BigBank"})
    assert again.status_code == 201
    with pytest.raises(ValidationFailed):
        container.sender_ids.reject(uuid_of(record), "  ", operator=None)


def test_sender_id_rules(client: TestClient, container: Container, account: Account) -> None:
    def send(sender: str) -> tuple[int, str]:
        response = client.post("/v1/sms/send", headers=account.headers,
                               json={"to": "+447700900123", "from": sender, "body": "hi"})
        return response.status_code, response.json().get("error", {}).get("code", "")

    # Alphanumeric IDs are at most 11 characters, whatever is approved.
    assert client.post("/v1/settings/sender-ids", headers=account.headers,
                       json={"sender_id": "TwelveChars1"}).json()["error"]["code"] == (
        "INVALID_SENDER_ID")
    assert send("TwelveChars1") == (400, "INVALID_SENDER_ID")
    # Numbers need the account's permission (the column defaults to off).
    assert send("447700900999") == (400, "INVALID_SENDER_ID")
    container.sender_ids.allow_numeric_senders(account.account_id, True)
    assert send("447700900999") == (200, "")
    assert send("NotMine") == (400, "INVALID_SENDER_ID")
    container.sender_ids.allow_numeric_senders(account.account_id, False)
    assert send("447700900999") == (400, "INVALID_SENDER_ID")


def test_another_account_cannot_use_or_see_my_sender_id(
    client: TestClient, container: Container, account: Account
) -> None:
    other = new_account(container, "Other")
    record = client.post("/v1/settings/sender-ids", headers=account.headers,
                         json={"sender_id": "OnlyMine"}).json()["data"]
    container.sender_ids.approve(uuid_of(record), operator=None)
    assert client.get("/v1/settings/sender-ids", headers=other.headers).json()["data"] == []
    refused = client.post("/v1/sms/send", headers=other.headers,
                          json={"to": "+447700900123", "from": "OnlyMine", "body": "hi"})
    assert refused.json()["error"]["code"] == "INVALID_SENDER_ID"


def test_admin_decisions_are_refused_to_api_keys(
    client: TestClient, account: Account
) -> None:
    record = client.post("/v1/settings/sender-ids", headers=account.headers,
                         json={"sender_id": "Keyed"}).json()["data"]
    for path, body in ((f"/v1/admin/sender-ids/{record['id']}/approve", None),
                       (f"/v1/admin/sender-ids/{record['id']}/reject", {"reason": "no"})):
        response = client.post(path, headers=account.headers, json=body)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "FORBIDDEN"
        assert client.post(path, json=body).status_code == 401
    listed = client.get("/v1/settings/sender-ids", headers=account.headers).json()["data"]
    assert listed[0]["status"] == "pending"


def test_sender_id_requests_need_settings_write(
    client: TestClient, container: Container, account: Account
) -> None:
    restrict(container, account, ["sms.send"])
    response = client.post("/v1/settings/sender-ids", headers=account.headers,
                           json={"sender_id": "Nope"})
    assert response.status_code == 403


def test_a_sender_id_request_cannot_set_its_own_status(
    client: TestClient, account: Account
) -> None:
    for body in ({"sender_id": "Sneaky", "status": "approved"},
                 {"sender_id": "Sneaky", "purpose": "nul \u0000"}):
        response = client.post("/v1/settings/sender-ids", headers=account.headers, json=body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# Notifications ---------------------------------------------------------------


def test_notification_settings_default_then_patch(
    client: TestClient, container: Container, account: Account
) -> None:
    url = "/v1/settings/notifications"
    defaults = client.get(url, headers=account.headers).json()["data"]
    assert defaults == {
        "low_balance_email": True, "delivery_failure_email": False,
        "webhook_failure_email": True, "campaign_completed_email": True,
        "weekly_usage_email": False, "recipients": [],
    }
    patched = client.patch(url, headers=account.headers, json={
        "delivery_failure_email": True, "recipients": ["Ops@Example.com", "ops@example.com"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["recipients"] == ["ops@example.com"]
    again = client.patch(url, headers=account.headers, json={"low_balance_email": False})
    data = again.json()["data"]
    assert (data["low_balance_email"], data["delivery_failure_email"]) == (False, True)
    assert client.get(url, headers=account.headers).json()["data"] == data
    other = new_account(container, "Other")
    assert client.get(url, headers=other.headers).json()["data"] == defaults

    for bad in ({"recipients": ["not-an-address"]}, {"sms_alerts": True},
                {"recipients": [f"a{i}@x.io" for i in range(6)]}, {"account_id": "x"},
                {"recipients": ["a\u0000@x.io"]}):
        response = client.patch(url, headers=account.headers, json=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    restrict(container, account, ["sms.send"])
    assert client.patch(url, headers=account.headers, json={}).status_code == 403


def uuid_of(record: dict[str, str]) -> UUID:
    return UUID(record["id"])


def test_an_account_adds_templates_and_sender_ids_up_to_its_cap(
    container: Container, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("application.settings.templates.MAX_TEMPLATES_PER_ACCOUNT", 2)
    monkeypatch.setattr("application.settings.sender_ids.MAX_SENDER_IDS_PER_ACCOUNT", 2)
    for n in range(2):
        container.templates.create(account.account_id, f"T{n}", "hello")
        container.sender_ids.request(account.account_id, f"Brand{n}")
    with pytest.raises(ValidationFailed, match="at most 2 templates"):
        container.templates.create(account.account_id, "T2", "hello")
    with pytest.raises(ValidationFailed, match="at most 2 sender ID requests"):
        container.sender_ids.request(account.account_id, "Brand2")
    # The cap is the account's own: another account still has room.
    other = new_account(container, "Other")
    container.templates.create(other.account_id, "T2", "hello")
