"""An app on a real container whose sign-in settings suit tests: a short
lockout, so that its end can be waited for, a cheaper Argon2id cost (the
same algorithm; the production cost makes each login take most of a second on
a loaded two-core machine), and per-address limits out of the way: every
TestClient request comes from one address, "testclient", and the limits have
tests of their own (test_address_limits.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.app import create_app

LOCKOUT_S = 2
PASSWORD = "correct horse battery"


@pytest.fixture
def identity_env() -> dict[str, str]:
    return {
        "SMSLEDGER_LOCKOUT_S": str(LOCKOUT_S),
        "SMSLEDGER_ARGON2_TIME_COST": "1",
        "SMSLEDGER_ARGON2_MEMORY_KIB": "8192",
        "SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN": "1000000",
        "SMSLEDGER_FAILED_KEY_AUTHS_PER_MIN": "1000000",
    }


@pytest.fixture
def container(database_url: str, identity_env: dict[str, str]) -> Iterator[Container]:
    built = build(Settings.from_env(identity_env), database_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def register(client: TestClient[Any], email: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"email": email or new_email(), "password": PASSWORD, "name": "Ada", **extra}
    response = client.post("/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
