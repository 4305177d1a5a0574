"""Limits per client address, over HTTP on the real database: sign-in
attempts (login, register, forgot-password) and failed API credentials get
429 RATE_LIMITED with Retry-After; other addresses are not affected; a
client's own X-Forwarded-For is not believed unless it comes through a
trusted proxy; and the buckets are shared by API processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.app import create_app
from tests.integration.identity.users.conftest import PASSWORD, new_email
from tests.support.owner_keys import new_account
from tests.support.peers import from_peer, peer_client

SIGN_IN_PER_MIN = 4
FAILED_KEYS_PER_MIN = 5
PROXY = "10.0.0.2"


@pytest.fixture
def identity_env() -> dict[str, str]:
    return {
        "SMSLEDGER_ARGON2_TIME_COST": "1",
        "SMSLEDGER_ARGON2_MEMORY_KIB": "8192",
        "SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN": str(SIGN_IN_PER_MIN),
        "SMSLEDGER_FAILED_KEY_AUTHS_PER_MIN": str(FAILED_KEYS_PER_MIN),
        "SMSLEDGER_TRUSTED_PROXIES": f"{PROXY},2001:db8:ffff::/48",
    }


@pytest.fixture
def peers(container: Container) -> Iterator[TestClient[Any]]:
    with peer_client(create_app(container)) as client:
        yield client


def _address() -> str:
    """A fresh address per test: buckets outlive a test in the run's database."""
    number = uuid.uuid4().int
    return f"198.18.{number >> 8 & 255}.{number & 255}"


def _login(client: TestClient[Any], peer: str, **headers: str) -> Any:
    return client.post("/v1/auth/login", json={"email": new_email(), "password": "wrong pw"},
                       headers=from_peer(peer, headers))


def _assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["meta"]["request_id"].startswith("req_")


def test_sign_in_attempts_are_limited_per_address(peers: TestClient[Any]) -> None:
    attacker, bystander = _address(), _address()
    answers = [_login(peers, attacker) for _ in range(SIGN_IN_PER_MIN)]
    assert {a.status_code for a in answers} == {401}
    _assert_rate_limited(_login(peers, attacker))
    # Register and forgot-password draw on the same attempts.
    register = peers.post("/v1/auth/register", headers=from_peer(attacker), json={
        "email": new_email(), "password": PASSWORD, "name": "Ada"})
    _assert_rate_limited(register)
    forgot = peers.post("/v1/auth/forgot-password", headers=from_peer(attacker),
                        json={"email": new_email()})
    _assert_rate_limited(forgot)
    # Another address is not affected.
    assert _login(peers, bystander).status_code == 401


def test_a_clients_own_forwarded_for_is_not_believed(peers: TestClient[Any]) -> None:
    attacker = _address()
    for n in range(SIGN_IN_PER_MIN):
        _login(peers, attacker, **{"X-Forwarded-For": f"192.0.2.{n}"})
    _assert_rate_limited(_login(peers, attacker, **{"X-Forwarded-For": "192.0.2.200"}))


def test_a_trusted_proxy_names_the_client(peers: TestClient[Any]) -> None:
    client = _address()
    for _ in range(SIGN_IN_PER_MIN):
        # What the client wrote is left of what the proxy appended.
        _login(peers, PROXY, **{"X-Forwarded-For": f"192.0.2.9, {client}"})
    _assert_rate_limited(_login(peers, PROXY, **{"X-Forwarded-For": client}))
    assert _login(peers, PROXY, **{"X-Forwarded-For": _address()}).status_code == 401


def test_ipv6_clients_are_counted_by_their_64(peers: TestClient[Any]) -> None:
    prefix = f"2001:db8:{uuid.uuid4().int & 0x7fff:x}:1"  # not the trusted /48
    for n in range(SIGN_IN_PER_MIN):
        _login(peers, f"{prefix}::{n + 1:x}")
    _assert_rate_limited(_login(peers, f"{prefix}:ffff::1"))


def test_failed_api_credentials_are_limited_per_address(
    peers: TestClient[Any], container: Container
) -> None:
    attacker, bystander = _address(), _address()
    owner = new_account(container, "Guarded Ltd")
    wrong = {"X-API-Key": owner["X-API-Key"], "X-API-Secret": "sk_live_" + "x" * 43}
    answers = [peers.get("/v1/billing/balance", headers=from_peer(attacker, wrong))
               for _ in range(FAILED_KEYS_PER_MIN)]
    assert {a.status_code for a in answers} == {401}
    refused = peers.get("/v1/billing/balance", headers=from_peer(attacker, wrong))
    _assert_rate_limited(refused)
    # Refused before it is checked: the right key from there waits too...
    _assert_rate_limited(peers.get("/v1/billing/balance", headers=from_peer(attacker, owner)))
    # ...as do OAuth client credentials...
    token = peers.post("/v1/oauth/access_token", headers=from_peer(attacker), json={
        "client_id": owner["X-API-Key"], "client_secret": owner["X-API-Secret"]})
    _assert_rate_limited(token)
    # ...but not other addresses.
    assert peers.get("/v1/billing/balance", headers=from_peer(bystander, owner)
                     ).status_code == 200
    assert peers.get("/v1/billing/balance", headers=from_peer(bystander, wrong)
                     ).status_code == 401


def test_failed_oauth_client_credentials_count_too(
    peers: TestClient[Any], container: Container
) -> None:
    attacker = _address()
    owner = new_account(container, "Token Ltd")
    body = {"client_id": owner["X-API-Key"], "client_secret": "sk_live_" + "y" * 43}
    answers = [peers.post("/v1/oauth/access_token", json=body, headers=from_peer(attacker))
               for _ in range(FAILED_KEYS_PER_MIN + 1)]
    assert [a.status_code for a in answers] == [401] * FAILED_KEYS_PER_MIN + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1


def test_api_processes_share_each_addresss_attempts(
    database_url: str, identity_env: dict[str, str]
) -> None:
    """Two containers stand for two API processes on one database."""
    containers = [build(Settings.from_env(identity_env), database_url) for _ in range(2)]
    try:
        with peer_client(create_app(containers[0])) as one, \
                peer_client(create_app(containers[1])) as two:
            attacker = _address()
            statuses = [_login(client, attacker).status_code
                        for client in (one, two) * SIGN_IN_PER_MIN]
    finally:
        for container in containers:
            container.close()
    # One bucket for both: the attempts past it are refused, whichever
    # process they reach (each may hold a lease of one token it has not spent).
    assert statuses.count(401) <= SIGN_IN_PER_MIN + 2, statuses
    assert statuses.count(429) >= SIGN_IN_PER_MIN - 2, statuses
