"""Accounts and keys for the API-key tests, made through the product."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from domain.wallet import TopUpSource
from tests.support.senders import approve_sender


def new_account(container: Container, name: str = "Keys Ltd") -> dict[str, str]:
    """An account with opened, funded wallets; returns an owner key's headers."""
    profile = container.accounts.create_account(name, "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 1_000_000, TopUpSource.ADJUSTMENT, f"open/{profile.account_id}")
    approve_sender(container, profile.account_id)
    key = container.accounts.issue_key(profile.account_id, sandbox=False, name="owner")
    return {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}


def create_key(
    client: TestClient, owner: dict[str, str], permissions: list[str], mode: str = "live",
    name: str = "made",
) -> dict[str, Any]:
    response = client.post("/v1/settings/api-keys", headers=owner, json={
        "name": name, "permissions": permissions, "mode": mode})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def pair(created: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": created["key"], "X-API-Secret": created["secret"]}
