"""A signed-in user sees only their own account: another account's message is
404, exactly as for that account's stranger's API key."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from domain import ids
from domain.wallet import TopUpSource
from tests.integration.identity.users.conftest import bearer, register
from tests.support.projections import project_everything
from tests.support.senders import approve_sender


def test_another_accounts_message_is_not_found(
    client: TestClient[Any], container: Container
) -> None:
    alice = register(client, country="GB")
    bob = register(client, country="GB")
    live = ids.wallet_id(alice["user"]["account_id"], sandbox=False)
    container.wallets.top_up(live, 10_000_000, TopUpSource.ADJUSTMENT, f"t-{live}")
    approve_sender(container, alice["user"]["account_id"])
    sent = client.post("/v1/sms/send", headers=bearer(alice),
                       json={"to": "+447700900123", "from": "Acme", "body": "hi"})
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["id"]
    project_everything(container)

    mine = client.get(f"/v1/sms/{message_id}", headers=bearer(alice))
    assert mine.status_code == 200, mine.text
    theirs = client.get(f"/v1/sms/{message_id}", headers=bearer(bob))
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "NOT_FOUND"
    assert "data" not in theirs.json()
    assert "+447700900123" not in theirs.text
    listed = client.get("/v1/sms", headers=bearer(bob))
    assert listed.status_code == 200
    assert listed.json()["data"] == []
