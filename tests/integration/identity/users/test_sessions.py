"""Register, log in, refresh with rotation, reuse detection, logout and
lockout, through HTTP against the real database."""

from __future__ import annotations

import time
from typing import Any

import jwt
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from domain import ids
from tests.integration.identity.users.conftest import (
    LOCKOUT_S,
    PASSWORD,
    bearer,
    new_email,
    register,
)


def test_register_opens_account_owner_and_both_wallets(
    client: TestClient[Any], container: Container
) -> None:
    email = new_email()
    tokens = register(client, email.upper(), company_name="Ada Ltd", country="GB")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    assert tokens["refresh_expires_in"] == 7 * 86_400
    user = tokens["user"]
    assert user["email"] == email  # stored in lower case
    assert user["role"] == "owner"
    assert user["platform_admin"] is False
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "RS256"
    claims = jwt.decode(tokens["access_token"], container.identity.tokens.public_key,
                        algorithms=["RS256"], audience="smsledger-api")
    assert claims["exp"] - claims["iat"] == 15 * 60
    account_id = user["account_id"]
    for sandbox in (False, True):
        balance = container.wallets.balance(ids.wallet_id(account_id, sandbox=sandbox))
        assert balance.currency == "GBP"
    me = client.get("/v1/auth/me", headers=bearer(tokens))
    assert me.status_code == 200, me.text
    assert me.json()["data"]["account"]["name"] == "Ada Ltd"
    assert me.json()["data"]["account"]["default_country"] == "GB"
    assert "settings.write" in me.json()["data"]["permissions"]
    stored = container.identity.users.by_email(email)
    assert stored is not None and stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_register_refuses_duplicates_and_mass_assignment(client: TestClient[Any]) -> None:
    email = new_email()
    register(client, email)
    again = client.post("/v1/auth/register",
                        json={"email": email, "password": PASSWORD, "name": "B"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"
    for field, value in (("role", "admin"), ("platform_admin", True), ("balance", 10**9),
                         ("account_id", "x"), ("trusted", True)):
        response = client.post("/v1/auth/register", json={
            "email": new_email(), "password": PASSWORD, "name": "M", field: value})
        assert response.status_code == 400, field
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    short = client.post("/v1/auth/register",
                        json={"email": new_email(), "password": "short", "name": "S"})
    assert short.status_code == 400
    bad_currency = client.post("/v1/auth/register", json={
        "email": new_email(), "password": PASSWORD, "name": "S", "currency": "XYZ"})
    assert bad_currency.json()["error"]["code"] == "VALIDATION_ERROR"


def test_login_me_and_wrong_password(client: TestClient[Any]) -> None:
    email = new_email()
    register(client, email)
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()["data"]
    me = client.get("/v1/auth/me", headers=bearer(tokens))
    assert me.json()["data"]["email"] == email
    wrong = client.post("/v1/auth/login", json={"email": email, "password": "nope nope"})
    unknown = client.post("/v1/auth/login",
                          json={"email": new_email(), "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    tampered = tokens["access_token"][:-4] + "AAAA"
    assert client.get("/v1/auth/me", headers={"Authorization": f"Bearer {tampered}"}
                      ).status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_family(client: TestClient[Any]) -> None:
    first = register(client)
    second = client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second_tokens = second.json()["data"]
    assert second_tokens["refresh_token"] != first["refresh_token"]
    third = client.post("/v1/auth/refresh",
                        json={"refresh_token": second_tokens["refresh_token"]})
    assert third.status_code == 200
    third_tokens = third.json()["data"]
    assert client.get("/v1/auth/me", headers=bearer(third_tokens)).status_code == 200

    # The first token was rotated already: presenting it again is theft.
    replay = client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # ...and the whole family is gone: the newest refresh token and the access
    # tokens of the session stop working too.
    latest = client.post("/v1/auth/refresh",
                         json={"refresh_token": third_tokens["refresh_token"]})
    assert latest.status_code == 401
    assert client.get("/v1/auth/me", headers=bearer(third_tokens)).status_code == 401
    assert client.get("/v1/auth/me", headers=bearer(first)).status_code == 401


def test_a_session_family_is_independent_of_others(client: TestClient[Any]) -> None:
    email = new_email()
    register(client, email)
    one = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    two = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    rotated = client.post("/v1/auth/refresh",
                          json={"refresh_token": one["data"]["refresh_token"]})
    assert rotated.status_code == 200
    client.post("/v1/auth/refresh", json={"refresh_token": one["data"]["refresh_token"]})
    assert client.get("/v1/auth/me", headers=bearer(two["data"])).status_code == 200


def test_logout_revokes_refresh_and_access_tokens(client: TestClient[Any]) -> None:
    tokens = register(client)
    out = client.post("/v1/auth/logout", headers=bearer(tokens),
                      json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200, out.text
    assert client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
                       ).status_code == 401
    assert client.get("/v1/auth/me", headers=bearer(tokens)).status_code == 401
    # With neither token there is nothing to revoke.
    assert client.post("/v1/auth/logout", json={}).status_code == 401


def test_logout_with_only_the_refresh_token(client: TestClient[Any]) -> None:
    tokens = register(client)
    out = client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200
    assert client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
                       ).status_code == 401


def test_five_failures_lock_the_user_for_a_while(client: TestClient[Any]) -> None:
    email = new_email()
    register(client, email)
    for _ in range(4):
        response = client.post("/v1/auth/login", json={"email": email, "password": "wrong pw"})
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
    fifth = client.post("/v1/auth/login", json={"email": email, "password": "wrong pw"})
    assert fifth.status_code == 429
    error = fifth.json()["error"]
    assert error["code"] == "ACCOUNT_LOCKED"
    assert 1 <= error["details"]["retry_after_s"] <= LOCKOUT_S
    assert fifth.json()["meta"]["request_id"].startswith("req_")
    # Locked means locked: the right password is refused too.
    right = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert right.json()["error"]["code"] == "ACCOUNT_LOCKED"
    time.sleep(LOCKOUT_S + 0.2)
    after = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert after.status_code == 200, after.text


def test_a_success_resets_the_failure_count(client: TestClient[Any]) -> None:
    email = new_email()
    register(client, email)
    for _ in range(4):
        client.post("/v1/auth/login", json={"email": email, "password": "wrong pw"})
    assert client.post("/v1/auth/login", json={"email": email, "password": PASSWORD}
                       ).status_code == 200
    for _ in range(4):
        response = client.post("/v1/auth/login", json={"email": email, "password": "wrong pw"})
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_api_processes_sharing_the_key_accept_each_others_tokens(
    database_url: str, identity_env: dict[str, str]
) -> None:
    """Two containers stand for two API processes; a third has another key."""
    from adapters.bootstrap.container import build
    from adapters.config.settings import Settings
    from adapters.http.app import create_app
    from adapters.identity.jwt_tokens import new_private_key_pem

    shared = {**identity_env, "SMSLEDGER_JWT_PRIVATE_KEY": new_private_key_pem().decode()}
    other = {**identity_env, "SMSLEDGER_JWT_PRIVATE_KEY": new_private_key_pem().decode()}
    containers = [build(Settings.from_env(env), database_url)
                  for env in (shared, shared, other)]
    try:
        one, two, stranger = (TestClient(create_app(c)) for c in containers)
        with one, two, stranger:
            tokens = register(one)
            assert two.get("/v1/auth/me", headers=bearer(tokens)).status_code == 200
            assert stranger.get("/v1/auth/me", headers=bearer(tokens)).status_code == 401
            rotated = two.post("/v1/auth/refresh",
                               json={"refresh_token": tokens["refresh_token"]})
            assert rotated.status_code == 200
            newer = rotated.json()["data"]
            # Logout in the second process; the first has not cached this
            # session's state yet, so it sees the revocation at once.
            assert two.post("/v1/auth/logout", headers=bearer(newer), json={}
                            ).status_code == 200
            assert one.get("/v1/auth/me", headers=bearer(newer)).status_code == 401
    finally:
        for container in containers:
            container.close()
