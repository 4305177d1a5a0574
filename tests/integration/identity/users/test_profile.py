"""GET and PATCH /v1/settings/profile, by users of each role and by API keys."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.identity.passwords import Argon2Hasher
from domain import ids
from tests.integration.identity.users.conftest import PASSWORD, bearer, new_email, register


def add_member(container: Container, account_id: str) -> str:
    """A member of the account. Inviting users has no endpoint yet, so the
    row is written as that feature would write it."""
    email = new_email()
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO users (id, account_id, email, name, role, password_hash)"
            " VALUES (%s, %s, %s, 'Mo', 'member', %s)",
            (uuid.uuid4(), account_id, email,
             Argon2Hasher(time_cost=1, memory_kib=8192).hash(PASSWORD)),
        )
    return email


def test_profile_reads_and_updates(client: TestClient[Any], container: Container) -> None:
    owner = register(client, company_name="Profile Ltd", country="GB")
    account_id = owner["user"]["account_id"]
    got = client.get("/v1/settings/profile", headers=bearer(owner))
    assert got.status_code == 200, got.text
    assert got.json()["data"] | {"created_at": None} == {
        "account_id": account_id, "name": "Profile Ltd", "currency": "GBP",
        "timezone": "UTC", "default_country": "GB", "low_balance_threshold": 0,
        "low_balance_threshold_micros": 0, "trusted": False, "created_at": None,
    }
    patched = client.patch("/v1/settings/profile", headers=bearer(owner), json={
        "name": "Renamed Ltd", "timezone": "Africa/Accra", "default_country": "gh",
        "low_balance_threshold": 500})
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["name"], data["timezone"], data["default_country"]) == (
        "Renamed Ltd", "Africa/Accra", "GH")
    assert data["low_balance_threshold"] == 500  # pence
    assert data["low_balance_threshold_micros"] == 5_000_000
    wallet = container.wallets.balance(ids.wallet_id(account_id, sandbox=False))
    assert wallet.low_balance_threshold_micros == 5_000_000
    # The sending path sees the new default country at once in this process.
    assert container.accounts.profile(account_id).default_country == "GH"
    cleared = client.patch("/v1/settings/profile", headers=bearer(owner),
                           json={"default_country": None, "low_balance_threshold_micros": 7})
    assert cleared.json()["data"]["default_country"] is None
    assert cleared.json()["data"]["name"] == "Renamed Ltd"
    assert cleared.json()["data"]["low_balance_threshold_micros"] == 7


def test_profile_refuses_bad_values_and_mass_assignment(client: TestClient[Any]) -> None:
    owner = register(client)
    for body in ({"timezone": "Mars/Olympus"}, {"default_country": "ZZ"},
                 {"currency": "USD"}, {"trusted": True}, {"account_id": "x"},
                 {"balance": 100}, {"low_balance_threshold": -1},
                 {"low_balance_threshold": 1, "low_balance_threshold_micros": 1}):
        response = client.patch("/v1/settings/profile", headers=bearer(owner), json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_api_keys_use_their_permissions(client: TestClient[Any], container: Container) -> None:
    owner = register(client)
    key = container.accounts.issue_key(owner["user"]["account_id"], sandbox=False)
    headers = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}
    assert client.get("/v1/settings/profile", headers=headers).status_code == 200
    assert client.patch("/v1/settings/profile", headers=headers,
                        json={"name": "By key"}).json()["data"]["name"] == "By key"
    assert client.get("/v1/settings/profile").status_code == 401


def test_members_read_but_do_not_change_settings(
    client: TestClient[Any], container: Container
) -> None:
    owner = register(client)
    account_id = owner["user"]["account_id"]
    email = add_member(container, account_id)
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    member = bearer(login.json()["data"])
    me = client.get("/v1/auth/me", headers=member).json()["data"]
    assert me["role"] == "member"
    assert "settings.write" not in me["permissions"]
    assert "sms.read" in me["permissions"]
    assert client.get("/v1/settings/profile", headers=member).status_code == 200
    refused = client.patch("/v1/settings/profile", headers=member, json={"name": "Nope"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
