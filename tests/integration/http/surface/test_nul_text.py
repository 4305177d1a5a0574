"""No PostgreSQL text can hold a NUL character. Every text a request can
carry into a query or an event is refused with VALIDATION_ERROR: before
this, some answered 500, and a message body with a NUL was accepted and then
stopped the projections that copy it into a text column."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.integration.http.surface.conftest import assert_envelope
from tests.support.projections import project_everything

SEND = {"to": "+447700900123", "from": "Acme", "body": "ab"}
CASES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/sms/send", {**SEND, "body": "a\u0000b"}),
    ("POST", "/v1/sms/send", {**SEND, "client_ref": "r\u0000"}),
    ("POST", "/v1/sms/send", {**SEND, "body": "a {{x}}", "variables": {"x": "\u0000"}}),
    ("POST", "/v1/sms/send", {**SEND, "callback_url": "https://a.example/\u0000"}),
    ("POST", "/v1/sms/bulk", {"recipients": [{"to": "+447700900123",
                                              "variables": {"x\u0000": "a"}}],
                              "from": "Acme", "body": "a {{x}}"}),
    ("POST", "/v1/sms/estimate", {"to": "+447700900123", "body": "a\u0000"}),
    ("GET", "/v1/sms/by-ref/a%00b", None),
    ("GET", "/v1/sms?client_ref=a%00b", None),
    ("GET", "/v1/sms?campaign_id=a%00b", None),
    ("POST", "/v1/templates", {"name": "n\u0000", "content": "c"}),
    ("POST", "/v1/settings/api-keys", {"name": "a\u0000", "permissions": ["sms.read"]}),
    ("PATCH", "/v1/settings/profile", {"name": "a\u0000"}),
    ("POST", "/v1/oauth/access_token", {"client_id": "a\u0000", "client_secret": "b"}),
    ("POST", "/v1/auth/login", {"email": "a\u0000@b.com", "password": "x"}),
    ("POST", "/v1/auth/register", {"email": "a@b.com", "password": "long enough",
                                   "name": "\u0000"}),
    ("POST", "/v1/auth/forgot-password", {"email": "a\u0000@b.com"}),
]


@pytest.mark.parametrize(("method", "url", "body"), CASES, ids=[f"{m} {u}" for m, u, _ in CASES])
def test_a_nul_character_is_a_validation_error(
    client: TestClient[Any], container: Container, owner: dict[str, str],
    method: str, url: str, body: Any,
) -> None:
    response = client.request(method, url, headers=owner, json=body)
    assert_envelope(response, 400, "VALIDATION_ERROR")
    project_everything(container)  # nothing poisonous reached the events
