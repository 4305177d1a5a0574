"""POST /v1/oauth/access_token (seed 004): client credentials for a 1-hour
Bearer token with the key's permissions, over HTTP on the real database."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.app import create_app
from adapters.postgres.identity.access_tokens import ACCESS_TOKEN_TTL_S, PostgresAccessTokens
from adapters.postgres.identity.api_keys import hash_secret
from tests.support.owner_keys import create_key, new_account

SEND = {"to": "+447700900123", "from": "Acme", "body": "hi"}


@pytest.fixture
def owner(container: Container) -> dict[str, str]:
    return new_account(container, "OAuth Ltd")


def _token(client: TestClient, created: dict[str, Any], *, form: bool = True) -> str:
    credentials = {"client_id": created["key"], "client_secret": created["secret"]}
    if form:
        response = client.post("/v1/oauth/access_token", data=credentials)
    else:
        response = client.post("/v1/oauth/access_token", json=credentials)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_form_and_json_give_a_one_hour_bearer_token_in_the_seed_shape(
    client: TestClient, owner: dict[str, str], container: Container
) -> None:
    created = create_key(client, owner, ["billing.read"])
    form = client.post("/v1/oauth/access_token", content=(
        f"client_id={created['key']}&client_secret={created['secret']}"
        "&grant_type=client_credentials"
    ), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 200, form.text
    body = form.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("bsms_at_") and "." not in body["access_token"]
    assert form.headers["cache-control"] == "no-store"
    json_token = _token(client, created, form=False)
    assert json_token != body["access_token"]
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM t.expires_at - t.created_at) FROM oauth_access_tokens t"
            " JOIN api_keys k ON k.id = t.key_id WHERE k.key = %s", (created["key"],)
        ).fetchall()
    assert len(rows) == 2
    assert all(abs(float(r[0]) - 3600) < 5 for r in rows)
    for token in (body["access_token"], json_token):
        response = client.get("/v1/billing/balance", headers=_bearer(token))
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-limit"] == "100"


def test_a_token_carries_its_keys_permissions_and_mode(
    client: TestClient, owner: dict[str, str]
) -> None:
    reader = _token(client, create_key(client, owner, ["billing.read"]))
    refused = client.post("/v1/sms/send", headers=_bearer(reader), json=SEND)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    sender = _token(client, create_key(client, owner, ["sms.send", "billing.read"], mode="test"))
    sent = client.post("/v1/sms/send", headers=_bearer(sender), json=SEND)
    assert sent.status_code == 200, sent.text
    balance = client.get("/v1/billing/balance", headers=_bearer(sender)).json()["data"]
    assert balance["sandbox"] is True


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"client_id": "bsms_live_nope", "client_secret": "sk_live_nope"}, 401, "UNAUTHORIZED"),
        ({"client_id": "bsms_live_nope"}, 400, "VALIDATION_ERROR"),
        ({"client_id": "a", "client_secret": "b", "grant_type": "password"},
         400, "VALIDATION_ERROR"),
        ({"client_id": "a", "client_secret": "b", "scope": "admin"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_token_requests_are_refused_in_the_envelope(
    client: TestClient, payload: dict[str, str], status: int, code: str
) -> None:
    for response in (client.post("/v1/oauth/access_token", data=payload),
                     client.post("/v1/oauth/access_token", json=payload)):
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code


def test_a_wrong_secret_gets_no_token(client: TestClient, owner: dict[str, str]) -> None:
    created = create_key(client, owner, ["billing.read"])
    response = client.post("/v1/oauth/access_token", data={
        "client_id": created["key"], "client_secret": created["secret"] + "x"})
    assert response.status_code == 401


def test_revoking_the_key_kills_its_tokens_at_once(
    client: TestClient, owner: dict[str, str]
) -> None:
    created = create_key(client, owner, ["billing.read"])
    token = _token(client, created)
    assert client.get("/v1/billing/balance", headers=_bearer(token)).status_code == 200
    assert client.delete(f"/v1/settings/api-keys/{created['id']}", headers=owner).status_code == 200
    response = client.get("/v1/billing/balance", headers=_bearer(token))
    assert response.status_code == 401
    again = client.post("/v1/oauth/access_token", data={
        "client_id": created["key"], "client_secret": created["secret"]})
    assert again.status_code == 401


def test_an_expired_token_is_refused_by_a_fresh_process(
    client: TestClient, owner: dict[str, str], database_url: str
) -> None:
    token = _token(client, create_key(client, owner, ["billing.read"]))
    fresh = build(Settings.from_env({}), database_url)
    try:
        with TestClient(create_app(fresh)) as other:
            assert other.get("/v1/billing/balance", headers=_bearer(token)).status_code == 200
        with fresh.pool.connection() as conn:
            conn.execute(
                "UPDATE oauth_access_tokens SET expires_at = now() - interval '1 s'"
                " WHERE token_sha256 = %s", (hash_secret(token),))
    finally:
        fresh.close()
    later = build(Settings.from_env({}), database_url)
    try:
        with TestClient(create_app(later)) as other:
            assert other.get("/v1/billing/balance", headers=_bearer(token)).status_code == 401
    finally:
        later.close()


def test_a_cached_token_expires_on_the_hour(container: Container) -> None:
    """The in-process cache checks the expiry on every use, not only on load."""
    now = [1_000_000.0]
    tokens = PostgresAccessTokens(container.pool, wall_clock=lambda: now[0])
    profile = container.accounts.create_account("Clock Ltd", "GBP", "GB")
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    grant = container.accounts.keys.verify(key.api_key, key.api_secret)
    assert grant is not None
    issued = tokens.issue(grant)
    now[0] += ACCESS_TOKEN_TTL_S - 1
    assert tokens.verify(issued.access_token) == grant
    now[0] += 1
    assert tokens.cached(issued.access_token) is None
    assert tokens.verify(issued.access_token) is None
