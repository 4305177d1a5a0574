"""`smsledger up` keeps its JWT key in the data directory: an operator made
with `users create-admin` signs in over HTTP, and the session survives a
restart of the product."""

from __future__ import annotations

import stat

import httpx
import pytest

from tests.e2e.test_up import Product, product, product_env  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

PASSWORD = "operator passphrase"


def test_operator_signs_in_and_the_session_survives_a_restart(
    product: Product,  # noqa: F811 - the fixture
) -> None:
    created = product.cli("users", "create-admin", "--email", "ops@example.com",
                          "--password", PASSWORD)
    assert created.returncode == 0, created.stderr
    key_file = product.data_dir / "jwt_signing_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with httpx.Client(base_url=product.base_url, timeout=30) as http:
        login = http.post("/v1/auth/login",
                          json={"email": "ops@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        tokens = login.json()["data"]
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        accounts = http.get("/v1/admin/accounts", headers=headers)
        assert accounts.status_code == 200, accounts.text
        assert accounts.json()["pagination"]["total"] >= 1
    key = key_file.read_bytes()
    product.stop()

    product.start()
    assert key_file.read_bytes() == key  # kept, not regenerated
    with httpx.Client(base_url=product.base_url, timeout=30) as http:
        assert http.get("/v1/auth/me", headers=headers).status_code == 200
        refreshed = http.post("/v1/auth/refresh",
                              json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
    product.stop()
