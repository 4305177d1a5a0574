"""Seed 000's own shapes, through HTTP on a real container: the send
response's id fields, the error for an unapproved sender ID, and the
sandbox's reset."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap import Container
from adapters.http.app import create_app
from domain.wallet import TopUpSource
from tests.support.senders import approve_sender


class Account:
    def __init__(self, container: Container, *, sandbox_key: bool = False) -> None:
        profile = container.accounts.create_account(f"Seed {uuid4().hex[:6]}", "GBP", "GB")
        self.account_id = profile.account_id
        live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
        container.wallets.top_up(live, 10_000_000, TopUpSource.ADJUSTMENT, "opening")
        approve_sender(container, profile.account_id)
        key = container.accounts.issue_key(profile.account_id, sandbox=sandbox_key)
        self.headers = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture
def account(container: Container) -> Account:
    return Account(container)


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
    account = Account(container, sandbox_key=True)
    for method in ("GET", "POST"):
        reset = client.request(method, "/v1/sandbox/reset",
                               headers={**account.headers, "X-Sandbox": "true"})
        assert reset.status_code == 200, (method, reset.text)
        data = reset.json()["data"]
        assert (data["sandbox"], data["balance_micros"]) == (True, 100_000_000)
    assert client.get("/v1/sandbox/reset").status_code == 401
