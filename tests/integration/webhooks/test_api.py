"""/v1/settings/webhooks on a real container: CRUD, the secret shown once,
permissions, other accounts' endpoints, URL checks, rotation and a ping that
reaches a local receiver signed in both schemes."""

from __future__ import annotations

from collections.abc import Callable

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.integration.webhooks.conftest import Account, running_sender
from tests.support.webhook_receiver import (
    receiver,
    verify_seed_signature,
    verify_standard_signature,
)

BASE = "/v1/settings/webhooks"


def create(client: TestClient, account: Account, url: str, **extra: object) -> dict:
    response = client.post(BASE, headers=account.headers,
                           json={"url": url, "events": ["message.delivered"], **extra})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_create_list_get_update_delete(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    made = create(client, account, "https://93.184.216.34/hooks", description="crm")
    assert made["secret"].startswith("whsec_")
    assert made["active"] is True and made["events"] == ["message.delivered"]
    got = client.get(f"{BASE}/{made['id']}", headers=account.headers).json()["data"]
    assert "secret" not in got and got["description"] == "crm"
    listed = client.get(BASE, headers=account.headers).json()
    assert [w["id"] for w in listed["data"]] == [made["id"]]
    assert listed["pagination"]["total"] == 1 and "secret" not in listed["data"][0]
    changed = client.patch(f"{BASE}/{made['id']}", headers=account.headers,
                           json={"events": ["*"], "active": False}).json()["data"]
    assert changed["events"] == ["*"] and changed["active"] is False
    assert changed["description"] == "crm"
    assert client.delete(f"{BASE}/{made['id']}", headers=account.headers).status_code == 200
    assert client.get(f"{BASE}/{made['id']}", headers=account.headers).status_code == 404


def test_pages_follow_the_cursor(client: TestClient, make_account: Callable[..., Account]) -> None:
    account = make_account()
    ids = [create(client, account, f"https://93.184.216.34/h{i}")["id"] for i in range(3)]
    first = client.get(BASE, headers=account.headers, params={"page_size": 2}).json()
    assert first["pagination"]["has_more"] is True
    second = client.get(BASE, headers=account.headers,
                        params={"page_size": 2, "cursor": first["pagination"]["cursor"]}).json()
    assert [w["id"] for w in first["data"] + second["data"]] == ids
    assert second["pagination"]["has_more"] is False


def test_bad_input_is_a_validation_error(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    account = make_account()
    cases = [
        {"url": "http://93.184.216.34/x", "events": ["opt_out"]},
        {"url": "https://10.0.0.8/x", "events": ["opt_out"]},
        {"url": "https://169.254.169.254/latest", "events": ["opt_out"]},
        {"url": "https://[::ffff:127.0.0.1]/x", "events": ["opt_out"]},
        {"url": "https://93.184.216.34/x", "events": ["message.nope"]},
        {"url": "https://93.184.216.34/x", "events": []},
        {"url": "https://93.184.216.34/x", "events": ["opt_out"], "secret": "mine"},
        {"url": "https://93.184.216.34/x", "events": ["opt_out"], "account_id": "other"},
    ]
    for payload in cases:
        response = client.post(BASE, headers=account.headers, json=payload)
        assert response.status_code == 400, (payload, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_another_accounts_endpoint_is_not_found(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    owner, other = make_account(), make_account()
    made = create(client, owner, "https://93.184.216.34/x")
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-secret"),
                         ("POST", "/test"), ("GET", "/deliveries"), ("POST", "/replay")]:
        json = {"since": "2026-01-01T00:00:00Z"} if path == "/replay" else (
            {"active": False} if method == "PATCH" else None)
        response = client.request(method, f"{BASE}/{made['id']}{path}", headers=other.headers,
                                  json=json)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert client.get(BASE, headers=other.headers).json()["data"] == []


def test_writes_need_the_webhooks_write_permission(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    reader = make_account(permissions=("sms.send", "webhooks.read"))
    nobody = make_account(permissions=("sms.send",))
    response = client.post(BASE, headers=reader.headers,
                           json={"url": "https://93.184.216.34/x", "events": ["opt_out"]})
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    assert client.get(BASE, headers=reader.headers).status_code == 200
    assert client.get(BASE, headers=nobody.headers).status_code == 403


def test_a_ping_is_signed_in_both_schemes_and_listed_with_its_attempt(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    with receiver() as local:
        made = create(client, account, local.url)
        queued = client.post(f"{BASE}/{made['id']}/test", headers=account.headers)
        assert queued.status_code == 202
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 1)
    got = local.successes()[0]
    assert got.payload["event"] == "ping"
    assert got.payload["id"] == queued.json()["data"]["event_id"] == got.event_id
    assert verify_seed_signature(made["secret"], got.headers, got.body)
    assert verify_standard_signature(made["secret"], got.headers, got.body)
    attempts = client.get(f"{BASE}/{made['id']}/deliveries", headers=account.headers).json()
    assert attempts["pagination"]["total"] == 1, attempts["data"]
    attempt = attempts["data"][0]
    assert attempt["status_code"] == 200 and attempt["delivery_status"] == "succeeded"
    assert attempt["event"] == "ping" and attempt["latency_ms"] >= 0


def test_rotation_signs_with_both_secrets_for_the_overlap(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    with receiver() as local:
        made = create(client, account, local.url)
        rotated = client.post(f"{BASE}/{made['id']}/rotate-secret",
                              headers=account.headers).json()["data"]
        assert rotated["secret"] != made["secret"]
        assert rotated["previous_secret_valid_until"] is not None
        client.post(f"{BASE}/{made['id']}/test", headers=account.headers)
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 1)
        got = local.successes()[0]
        for secret in (made["secret"], rotated["secret"]):
            assert verify_seed_signature(secret, got.headers, got.body)
            assert verify_standard_signature(secret, got.headers, got.body)
        # Once the overlap is over, only the new secret signs.
        with hooks_container.pool.connection() as conn:
            conn.execute("UPDATE webhook_endpoints SET previous_secret_until = now()"
                         " - interval '1 second' WHERE id = %s", (made["id"],))
        client.post(f"{BASE}/{made['id']}/test", headers=account.headers)
        with running_sender(hooks_container):
            local.wait_for(lambda r: len(r.successes()) == 2)
        late = local.successes()[1]
        assert verify_standard_signature(rotated["secret"], late.headers, late.body)
        assert not verify_standard_signature(made["secret"], late.headers, late.body)
        assert not verify_seed_signature(made["secret"], late.headers, late.body)


def test_a_callback_url_must_be_https_unless_its_host_is_allowed(
    client: TestClient, make_account: Callable[..., Account], hooks_container: Container
) -> None:
    account = make_account()
    from domain import ids
    from domain.wallet import TopUpSource

    hooks_container.wallets.top_up(ids.wallet_id(account.account_id, sandbox=False),
                                   1_000_000, TopUpSource.ADJUSTMENT, "opening")
    base = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    refused = client.post("/v1/sms/send", headers=account.headers,
                          json={**base, "callback_url": "http://hooks.example.com/x"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
    bulk = client.post("/v1/sms/bulk", headers=account.headers, json={
        "recipients": [{"to": "+447700900123"}], "from": "Acme", "body": "hi",
        "callback_url": "https://user:pw@hooks.example.com/x"})
    assert bulk.status_code == 400
    for url in ("https://hooks.example.com/x", "http://127.0.0.1:9/x"):
        sent = client.post("/v1/sms/send", headers=account.headers,
                           json={**base, "callback_url": url})
        assert sent.status_code == 200, sent.text
