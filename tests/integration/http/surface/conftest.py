"""The whole HTTP surface on a real container: every route the app registers
at run time, so routes added later are checked without editing these tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.app import create_app
from tests.support.owner_keys import new_account

MAX_BODY_BYTES = 1024 * 1024
# Cheap Argon2id (the same algorithm) and a small body limit, so that sign-in
# and the 413 answer are quick to reach; per-address limits out of the way
# (every TestClient request comes from one address).
SURFACE_ENV = {
    "SMSLEDGER_ARGON2_TIME_COST": "1",
    "SMSLEDGER_ARGON2_MEMORY_KIB": "8192",
    "SMSLEDGER_SIGN_IN_ATTEMPTS_PER_MIN": "1000000",
    "SMSLEDGER_FAILED_KEY_AUTHS_PER_MIN": "1000000",
    "SMSLEDGER_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
    "SMSLEDGER_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
}
PARAM = re.compile(r"\{(\w+):(\w+)\}")
EVERY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = build(Settings.from_env(SURFACE_ENV), database_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def app(container: Container) -> Litestar:
    return create_app(container)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Any]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def owner(container: Container) -> dict[str, str]:
    """A funded account with an approved sender ID: its owner key's headers."""
    return new_account(container, "Surface Ltd")


def http_routes(app: Litestar) -> list[HTTPRoute]:
    return [route for route in app.routes if isinstance(route, HTTPRoute)]


def route_methods(route: HTTPRoute) -> list[str]:
    return sorted(m for m in route.methods if m not in ("OPTIONS", "HEAD"))


def fill_path(path: str, values: dict[str, str] | None = None) -> str:
    """The route's path with each parameter given a value: from `values`, or a
    random one of the parameter's type (a random id names nothing)."""
    values = values or {}

    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name in values:
            return values[name]
        if kind == "uuid":
            return str(uuid.uuid4())
        if kind == "int":
            return str(uuid.uuid4().int % 1_000_000)
        return "x" + uuid.uuid4().hex[:12]

    return PARAM.sub(value, path)


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error envelope of DESIGN section 4, with the request's id."""
    assert response.status_code == status, (response.request.method, response.request.url,
                                            response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "meta"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    request_id = body["meta"]["request_id"]
    assert request_id.startswith("req_")
    assert response.headers["x-request-id"] == request_id
    return body
