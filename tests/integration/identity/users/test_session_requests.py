"""A signed-in user's requests get what key holders get: Idempotency-Key
replays and the sandbox switch."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from domain import ids
from domain.wallet import TopUpSource
from tests.integration.identity.users.conftest import bearer, register
from tests.support.senders import approve_sender


def _funded_owner(client: TestClient[Any], container: Container) -> dict[str, Any]:
    owner = register(client, country="GB")
    account_id = owner["user"]["account_id"]
    container.wallets.top_up(ids.wallet_id(account_id, sandbox=False), 10_000_000,
                             TopUpSource.ADJUSTMENT, f"idem-{account_id}")
    approve_sender(container, account_id)
    return owner


def test_an_idempotency_key_replays_a_signed_in_users_send(
    client: TestClient[Any], container: Container
) -> None:
    owner = _funded_owner(client, container)
    headers = {**bearer(owner), "Idempotency-Key": "order-77"}
    body = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    first = client.post("/v1/sms/send", headers=headers, json=body)
    again = client.post("/v1/sms/send", headers=headers, json=body)
    assert first.status_code == again.status_code == 200, first.text
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    other = client.post("/v1/sms/send", headers=headers, json={**body, "body": "changed"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_x_sandbox_puts_a_signed_in_users_send_in_the_sandbox(
    client: TestClient[Any], container: Container
) -> None:
    owner = _funded_owner(client, container)
    live = ids.wallet_id(owner["user"]["account_id"], sandbox=False)
    before = container.wallets.balance(live)
    sent = client.post("/v1/sms/send", headers={**bearer(owner), "X-Sandbox": "true"},
                       json={"to": "+447700900123", "from": "Anything", "body": "hi"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["data"]["sandbox"] is True
    assert container.wallets.balance(live) == before
