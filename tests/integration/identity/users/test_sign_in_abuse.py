"""Sign-in under abuse, over HTTP on the real database: lockouts per (email,
client address), answers that do not tell unknown emails, wrong passwords
and locked pairs apart, and sign-in attempts limited per client address."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.app import create_app
from tests.integration.identity.users.conftest import LOCKOUT_S, PASSWORD, new_email
from tests.integration.identity.users.test_passwords import mails_to, reset_token
from tests.support.peers import from_peer, peer_client

ATTACKER = "203.0.113.7"
VICTIM = "198.51.100.20"
WRONG = "not the password"
SAMPLES = 7


@pytest.fixture
def peers(container: Container) -> Iterator[TestClient[Any]]:
    with peer_client(create_app(container)) as client:
        yield client


def _login(client: TestClient[Any], email: str, password: str, peer: str) -> Any:
    return client.post("/v1/auth/login", json={"email": email, "password": password},
                       headers=from_peer(peer))


def _register(client: TestClient[Any], email: str, peer: str) -> Any:
    return client.post("/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                  "name": "Ada"}, headers=from_peer(peer))


def _shape(response: Any) -> tuple[int, str, str, list[str]]:
    """Everything an answer says except its request id and lock times."""
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"], sorted(error["details"])


def test_an_attacker_locks_out_only_their_own_address(peers: TestClient[Any]) -> None:
    email = new_email()
    assert _register(peers, email, VICTIM).status_code == 201
    answers = [_login(peers, email, WRONG, ATTACKER) for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert answers[-1].json()["error"]["code"] == "ACCOUNT_LOCKED"
    assert 1 <= int(answers[-1].headers["retry-after"]) <= LOCKOUT_S
    # The attacker's pair stays locked, even with the right password...
    assert _login(peers, email, PASSWORD, ATTACKER).json()["error"]["code"] == "ACCOUNT_LOCKED"
    # ...while the victim, elsewhere, signs in.
    assert _login(peers, email, PASSWORD, VICTIM).status_code == 200


def test_unknown_and_known_emails_get_the_same_answers(peers: TestClient[Any]) -> None:
    known = new_email()
    assert _register(peers, known, VICTIM).status_code == 201
    unknown = new_email()
    for attempt in range(6):
        of_known = _login(peers, known, WRONG, ATTACKER)
        of_unknown = _login(peers, unknown, WRONG, ATTACKER)
        assert _shape(of_known) == _shape(of_unknown), attempt
        assert of_known.headers.get("retry-after") == of_unknown.headers.get("retry-after")
    assert _shape(of_known)[:2] == (429, "ACCOUNT_LOCKED")


def test_a_reset_password_lifts_the_lockouts(
    peers: TestClient[Any], container: Container
) -> None:
    email = new_email()
    assert _register(peers, email, VICTIM).status_code == 201
    for _ in range(5):
        _login(peers, email, WRONG, VICTIM)
    assert _login(peers, email, PASSWORD, VICTIM).status_code == 429
    peers.post("/v1/auth/forgot-password", json={"email": email}, headers=from_peer(VICTIM))
    token = reset_token(mails_to(container, email)[-1][1])
    reset = peers.post("/v1/auth/reset-password", json={"token": token,
                                                       "password": "a brand new one"})
    assert reset.status_code == 200, reset.text
    assert _login(peers, email, "a brand new one", VICTIM).status_code == 200


def test_wrong_current_passwords_lock_the_pair_too(peers: TestClient[Any]) -> None:
    email = new_email()
    tokens = _register(peers, email, VICTIM).json()["data"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    body = {"current_password": WRONG, "new_password": "a brand new one"}
    codes = [peers.post("/v1/auth/change-password", json=body,
                        headers=from_peer(ATTACKER, bearer)).json()["error"]["code"]
             for _ in range(6)]
    assert codes == ["UNAUTHORIZED"] * 4 + ["ACCOUNT_LOCKED"] * 2
    assert _login(peers, email, PASSWORD, VICTIM).status_code == 200


@pytest.fixture
def timed_container(database_url: str) -> Iterator[Container]:
    """A hash that costs tens of milliseconds, so that one can be told from
    the few milliseconds of the queries around it."""
    built = build(Settings.from_env({
        "SMSLEDGER_ARGON2_TIME_COST": "2", "SMSLEDGER_ARGON2_MEMORY_KIB": "32768",
        "SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN": "100000",
    }), database_url)
    try:
        yield built
    finally:
        built.close()


def _timed_s(client: TestClient[Any], email: str, password: str, peer: str,
             code: str) -> float:
    started = time.perf_counter()
    response = _login(client, email, password, peer)
    elapsed = time.perf_counter() - started
    assert response.json()["error"]["code"] == code
    return elapsed


def test_every_refusal_costs_about_one_hash(timed_container: Container) -> None:
    with peer_client(create_app(timed_container)) as client:
        email = new_email()
        assert _register(client, email, VICTIM).status_code == 201
        _login(client, new_email(), WRONG, VICTIM)  # the decoy is hashed on first use
        for _ in range(5):
            _login(client, email, WRONG, ATTACKER)
        wrong, unknown, locked = [], [], []
        for n in range(SAMPLES):  # interleaved, so that the machine's load hits all three
            peer = f"192.0.2.{n + 1}"
            wrong.append(_timed_s(client, email, WRONG, peer, "UNAUTHORIZED"))
            unknown.append(_timed_s(client, new_email(), WRONG, peer, "UNAUTHORIZED"))
            locked.append(_timed_s(client, email, PASSWORD, ATTACKER, "ACCOUNT_LOCKED"))
    medians = {name: statistics.median(times) * 1000 for name, times in
               (("wrong", wrong), ("unknown", unknown), ("locked", locked))}
    print(", ".join(f"{name} {ms:.0f} ms" for name, ms in medians.items()))
    # A hash costs tens of milliseconds here, the queries around it a few:
    # an answer without a hash would be a small fraction of one with it.
    for name in ("unknown", "locked"):
        assert medians[name] > 0.4 * medians["wrong"], medians
        assert medians["wrong"] > 0.4 * medians[name], medians
