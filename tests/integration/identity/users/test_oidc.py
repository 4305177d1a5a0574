"""Google sign-in as generic OIDC, against a local provider served by the test."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.integration.identity.users.conftest import PASSWORD, bearer, new_email, register
from tests.integration.identity.users.oidc_standin import CLIENT_ID, REDIRECT_URI, OidcStandIn


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(scope="module")
def standin() -> Iterator[OidcStandIn]:
    provider = OidcStandIn().start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def identity_env(standin: OidcStandIn) -> dict[str, str]:
    return {**standin.env(), "SMSLEDGER_ARGON2_TIME_COST": "1",
            "SMSLEDGER_ARGON2_MEMORY_KIB": "8192"}


def consent(client: TestClient[Any]) -> tuple[str, str]:
    """Follow the authorization URL to the provider as a browser would; the
    code and state from the redirect back to us."""
    start = client.get("/v1/auth/google/url")
    assert start.status_code == 200, start.text
    url = start.json()["data"]["url"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["response_type"] == "code"
    assert query["state"] == start.json()["data"]["state"]
    assert "openid" in query["scope"].split()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url, timeout=5)
        raise AssertionError("the provider should redirect")
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        location = redirect.headers["Location"]
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    return back["code"], back["state"]


def sign_in(client: TestClient[Any], standin: OidcStandIn, **user: Any) -> Any:
    standin.user = {"sub": user.pop("sub", f"sub-{time.monotonic_ns()}"),
                    "email_verified": True, "name": "Grace", **user}
    code, state = consent(client)
    return client.post("/v1/auth/google", json={"code": code, "state": state})


def test_first_sign_in_creates_an_account_then_signs_the_same_user_in(
    client: TestClient[Any], standin: OidcStandIn, container: Container
) -> None:
    email = new_email()
    first = sign_in(client, standin, sub="google-123", email=email)
    assert first.status_code == 200, first.text
    tokens = first.json()["data"]
    assert tokens["user"]["email"] == email
    assert tokens["user"]["role"] == "owner"
    me = client.get("/v1/auth/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert standin.token_requests[-1]["client_secret"] == "standin-secret"
    again = sign_in(client, standin, sub="google-123", email=email)
    assert again.json()["data"]["user"]["id"] == tokens["user"]["id"]
    assert again.json()["data"]["user"]["account_id"] == tokens["user"]["account_id"]


def test_a_verified_email_links_to_the_existing_user(
    client: TestClient[Any], standin: OidcStandIn
) -> None:
    email = new_email()
    registered = register(client, email)
    response = sign_in(client, standin, email=email)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user"]["id"] == registered["user"]["id"]
    # The password still works alongside.
    assert client.post("/v1/auth/login", json={"email": email, "password": PASSWORD}
                       ).status_code == 200


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"nonce": "someone-elses-nonce"}, "nonce"),
        ({"aud": "another-client"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"email_verified": False}, "verified"),
    ],
    ids=["nonce", "audience", "issuer", "expired", "unverified-email"],
)
def test_a_bad_id_token_is_refused(
    client: TestClient[Any], standin: OidcStandIn, tamper: dict[str, Any], reason: str
) -> None:
    standin.next_claims = tamper
    response = sign_in(client, standin, email=new_email())
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert reason in response.json()["error"]["message"].lower()


def test_a_token_signed_by_another_key_is_refused(
    client: TestClient[Any], standin: OidcStandIn
) -> None:
    standin.sign_with = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = sign_in(client, standin, email=new_email())
    assert response.status_code == 401, response.text


def test_state_must_be_ours_and_is_used_once(
    client: TestClient[Any], standin: OidcStandIn
) -> None:
    standin.user = {"sub": "sub-state", "email": new_email(), "email_verified": True}
    code, state = consent(client)
    forged = client.post("/v1/auth/google", json={"code": code, "state": "forged-state"})
    assert forged.status_code == 401
    assert client.post("/v1/auth/google", json={"code": code, "state": state}
                       ).status_code == 200
    replay = client.post("/v1/auth/google", json={"code": code, "state": state})
    assert replay.status_code == 401


def test_without_configuration_google_is_not_found(database_url: str) -> None:
    from adapters.bootstrap.container import build
    from adapters.config.settings import Settings
    from adapters.http.app import create_app

    container = build(Settings.from_env({}), database_url)
    try:
        with TestClient(create_app(container)) as plain:
            response = plain.get("/v1/auth/google/url")
    finally:
        container.close()
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
