"""Idempotency-Key against the draft-ietf-httpapi-idempotency-key-header
rules: the key reused for another request is 422, and a replay is authorised
exactly as the first request was. (A retry right after the answer:
tests/e2e/test_idempotent_retries.py, on the real server.)"""

from __future__ import annotations

from uuid import uuid4

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.support.owner_keys import create_key, new_account, pair

SEND = {"to": "+447700900123", "from": "Acme", "body": "hi"}


def test_a_replay_checks_the_permission_the_request_needs(
    client: TestClient, container: Container
) -> None:
    owner = new_account(container, "Replay Ltd")
    reader = pair(create_key(client, owner, ["billing.read"], name="reader"))
    sender = pair(create_key(client, owner, ["sms.send"], name="sender"))
    key = {"Idempotency-Key": f"send-{uuid4()}"}
    first = client.post("/v1/sms/send", headers={**owner, **key}, json=SEND)
    assert first.status_code == 200

    refused = client.post("/v1/sms/send", headers={**reader, **key}, json=SEND)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert "sms.send" in refused.json()["error"]["message"]
    assert "idempotent-replayed" not in refused.headers
    assert first.json()["data"]["id"] not in refused.text

    # Exactly the route's check, no stricter: any key holding sms.send replays.
    replayed = client.post("/v1/sms/send", headers={**sender, **key}, json=SEND)
    assert replayed.status_code == 200
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["data"] == first.json()["data"]


def test_a_replayed_key_creation_needs_the_permissions_it_granted(
    client: TestClient, container: Container
) -> None:
    """A key may only grant what it holds; a weaker key replaying the creation
    must not receive the new, stronger key's secret."""
    owner = new_account(container, "Grant Ltd")
    manager = pair(create_key(client, owner, ["settings.write"], name="manager"))
    key = {"Idempotency-Key": f"grant-{uuid4()}"}
    grant = {"name": "sender", "permissions": ["sms.send"], "mode": "live"}
    first = client.post("/v1/settings/api-keys", headers={**owner, **key}, json=grant)
    assert first.status_code == 201

    refused = client.post("/v1/settings/api-keys", headers={**manager, **key}, json=grant)
    assert refused.status_code == 403, refused.text
    assert first.json()["data"]["secret"] not in refused.text
    replayed = client.post("/v1/settings/api-keys", headers={**owner, **key}, json=grant)
    assert replayed.status_code == 201
    assert replayed.json()["data"]["secret"] == first.json()["data"]["secret"]


def test_a_key_reused_for_another_request_is_422(
    client: TestClient, container: Container
) -> None:
    owner = new_account(container, "Reuse Ltd")
    headers = {**owner, "Idempotency-Key": f"reuse-{uuid4()}"}
    assert client.post("/v1/sms/send", headers=headers, json=SEND).status_code == 200
    for path, body in (("/v1/sms/send", {**SEND, "body": "other"}),
                       ("/v1/sms/estimate", SEND)):
        reused = client.post(path, headers=headers, json=body)
        assert reused.status_code == 422, reused.text
        assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert reused.json()["meta"]["request_id"] == reused.headers["x-request-id"]
