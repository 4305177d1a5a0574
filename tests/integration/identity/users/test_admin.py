"""/v1/admin/*: a platform operator made by the CLI's create-admin signs in
and works; API keys and ordinary users are refused with 403."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.cli.users import cmd_create_admin, create_platform_admin
from adapters.config.settings import Settings
from domain import ids
from domain.wallet import TopUpSource
from tests.integration.identity.users.conftest import PASSWORD, bearer, new_email, register

ADMIN_ROUTES = [
    ("GET", "/v1/admin/accounts", None),
    ("GET", "/v1/admin/accounts/{id}", None),
    ("PATCH", "/v1/admin/accounts/{id}", {"trusted": True}),
    ("POST", "/v1/admin/accounts/{id}/adjustments", {"amount_micros": 1, "reason": "r"}),
    ("GET", "/v1/admin/accounts/{id}/rate-overrides", None),
    ("PUT", "/v1/admin/accounts/{id}/rate-overrides/GB", {"price_micros": 1}),
    ("DELETE", "/v1/admin/accounts/{id}/rate-overrides/GB", None),
]


@pytest.fixture
def operator(client: TestClient[Any], container: Container) -> dict[str, str]:
    email = new_email()
    user = create_platform_admin(container, email, PASSWORD, "Olive Operator")
    assert user.platform_admin
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["data"]["user"]["platform_admin"] is True
    return bearer(login.json()["data"])


def call(client: TestClient[Any], method: str, path: str, headers: dict[str, str],
         body: Any) -> Any:
    return client.request(method, path, headers=headers, json=body)


def test_cli_command_creates_an_operator_who_logs_in(
    client: TestClient[Any], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    email = new_email()
    settings = Settings.from_env({"DATABASE_URL": database_url,
                                  "SMSLEDGER_ARGON2_TIME_COST": "1",
                                  "SMSLEDGER_ARGON2_MEMORY_KIB": "8192"})
    args = argparse.Namespace(email=email, password=PASSWORD, name="Cli Op")
    assert cmd_create_admin(args, settings) == 0
    assert email in capsys.readouterr().out
    assert cmd_create_admin(args, settings) == 1  # the email is taken now
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()["data"]
    assert tokens["user"]["platform_admin"] is True
    assert client.get("/v1/admin/accounts", headers=bearer(tokens)).status_code == 200


def test_api_keys_and_ordinary_users_are_refused(
    client: TestClient[Any], container: Container
) -> None:
    owner = register(client)
    account_id = owner["user"]["account_id"]
    key = container.accounts.issue_key(account_id, sandbox=False)
    key_headers = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}
    for method, path, body in ADMIN_ROUTES:
        url = path.format(id=account_id)
        for headers in (key_headers, bearer(owner)):
            response = call(client, method, url, headers, body)
            assert response.status_code == 403, (method, url, response.text)
            assert response.json()["error"]["code"] == "FORBIDDEN"
        anonymous = call(client, method, url, {}, body)
        assert anonymous.status_code == 401, (method, url)


def test_operator_lists_inspects_and_trusts_accounts(
    client: TestClient[Any], container: Container, operator: dict[str, str]
) -> None:
    customer = register(client, company_name="Customer Ltd")["user"]["account_id"]
    listed = client.get("/v1/admin/accounts", headers=operator, params={"page_size": 500})
    assert listed.status_code == 200, listed.text
    assert customer in [a["id"] for a in listed.json()["data"]]
    assert listed.json()["pagination"]["total"] >= 2
    first = client.get("/v1/admin/accounts", headers=operator, params={"page_size": 1})
    page = first.json()["pagination"]
    assert page["has_more"] is True
    second = client.get("/v1/admin/accounts", headers=operator,
                        params={"page_size": 1, "cursor": page["cursor"]})
    assert second.json()["data"][0]["id"] != first.json()["data"][0]["id"]

    detail = client.get(f"/v1/admin/accounts/{customer}", headers=operator)
    assert detail.status_code == 200
    assert detail.json()["data"]["name"] == "Customer Ltd"
    assert detail.json()["data"]["trusted"] is False
    assert [w["sandbox"] for w in detail.json()["data"]["wallets"]] == [False, True]

    trusted = client.patch(f"/v1/admin/accounts/{customer}", headers=operator,
                           json={"trusted": True})
    assert trusted.status_code == 200, trusted.text
    assert trusted.json()["data"]["trusted"] is True
    with container.pool.connection() as conn:
        row = conn.execute("SELECT trusted FROM accounts WHERE id = %s", (customer,)).fetchone()
    assert row == (True,)
    assert client.patch(f"/v1/admin/accounts/{customer}", headers=operator,
                        json={"trusted": True, "name": "x"}).status_code == 400
    for method, path, body in ADMIN_ROUTES[1:]:
        missing = call(client, method, path.format(id="no-such-account"), operator, body)
        assert missing.status_code == 404, (method, path, missing.text)


def test_operator_adjusts_a_balance_with_a_reason(
    client: TestClient[Any], container: Container, operator: dict[str, str]
) -> None:
    customer = register(client)["user"]["account_id"]
    credit = client.post(f"/v1/admin/accounts/{customer}/adjustments", headers=operator,
                         json={"amount_micros": 5_000_000, "reason": "goodwill credit"})
    assert credit.status_code == 201, credit.text
    assert credit.json()["data"]["balance_micros"] == 5_000_000
    debit = client.post(f"/v1/admin/accounts/{customer}/adjustments", headers=operator,
                        json={"amount_micros": -1_500_000, "reason": "correction",
                              "reference": "ticket-42"})
    assert debit.json()["data"]["balance_micros"] == 3_500_000
    balance = container.wallets.balance(ids.wallet_id(customer, sandbox=False))
    assert balance.balance_micros == 3_500_000
    no_reason = client.post(f"/v1/admin/accounts/{customer}/adjustments", headers=operator,
                            json={"amount_micros": 1, "reason": "   "})
    assert no_reason.status_code == 400
    assert no_reason.json()["error"]["code"] == "VALIDATION_ERROR"


def approve_sender_over_http(
    client: TestClient[Any], owner: dict[str, Any], operator: dict[str, str], sender: str
) -> None:
    requested = client.post("/v1/settings/sender-ids", headers=bearer(owner),
                            json={"sender_id": sender, "purpose": "receipts"})
    assert requested.status_code == 201, requested.text
    assert requested.json()["data"]["status"] == "pending"
    request_id = requested.json()["data"]["id"]
    approved = client.post(f"/v1/admin/sender-ids/{request_id}/approve", headers=operator)
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["status"] == "approved"


def test_an_operator_approves_and_rejects_sender_ids_over_http(
    client: TestClient[Any], container: Container, operator: dict[str, str]
) -> None:
    owner = register(client)
    customer = owner["user"]["account_id"]
    container.wallets.top_up(ids.wallet_id(customer, sandbox=False), 10_000_000,
                             TopUpSource.ADJUSTMENT, f"sender-{customer}")
    send = {"to": "+447700900123", "from": "Shop", "body": "hi"}
    refused = client.post("/v1/sms/send", headers=bearer(owner), json=send)
    assert refused.json()["error"]["code"] == "INVALID_SENDER_ID"
    # The owner may not approve their own request: only an operator may.
    own = client.post("/v1/settings/sender-ids", headers=bearer(owner),
                      json={"sender_id": "Other"}).json()["data"]["id"]
    assert client.post(f"/v1/admin/sender-ids/{own}/approve",
                       headers=bearer(owner)).status_code == 403
    rejected = client.post(f"/v1/admin/sender-ids/{own}/reject", headers=operator,
                           json={"reason": "brand not shown"})
    assert rejected.json()["data"]["status"] == "rejected"
    assert rejected.json()["data"]["rejection_reason"] == "brand not shown"
    again = client.post(f"/v1/admin/sender-ids/{own}/approve", headers=operator)
    assert again.status_code == 409
    approve_sender_over_http(client, owner, operator, "Shop")
    sent = client.post("/v1/sms/send", headers=bearer(owner), json=send)
    assert sent.status_code == 200, sent.text


def test_rate_overrides_price_the_next_send(
    client: TestClient[Any], container: Container, operator: dict[str, str]
) -> None:
    owner = register(client)
    customer = owner["user"]["account_id"]
    client.post(f"/v1/admin/accounts/{customer}/adjustments", headers=operator,
                json={"amount_micros": 10_000_000, "reason": "test credit"})
    approve_sender_over_http(client, owner, operator, "Acme")
    send = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    card_price = client.post("/v1/sms/send", headers=bearer(owner), json=send)
    assert card_price.status_code == 200, card_price.text
    assert card_price.json()["data"]["cost_micros"] != 12_345

    put = client.put(f"/v1/admin/accounts/{customer}/rate-overrides/gb", headers=operator,
                     json={"price_micros": 12_345})
    assert put.status_code == 200, put.text
    assert put.json()["data"] == {"country": "GB", "price_micros": 12_345}
    listed = client.get(f"/v1/admin/accounts/{customer}/rate-overrides", headers=operator)
    assert listed.json()["data"] == [{"country": "GB", "price_micros": 12_345}]
    overridden = client.post("/v1/sms/send", headers=bearer(owner), json=send)
    assert overridden.json()["data"]["cost_micros"] == 12_345

    removed = client.delete(f"/v1/admin/accounts/{customer}/rate-overrides/GB",
                            headers=operator)
    assert removed.status_code == 200
    again = client.delete(f"/v1/admin/accounts/{customer}/rate-overrides/GB",
                          headers=operator)
    assert again.status_code == 404
    back = client.post("/v1/sms/send", headers=bearer(owner), json=send)
    assert back.json()["data"]["cost_micros"] == card_price.json()["data"]["cost_micros"]
    bad = client.put(f"/v1/admin/accounts/{customer}/rate-overrides/ZZ", headers=operator,
                     json={"price_micros": 1})
    assert bad.status_code == 400
