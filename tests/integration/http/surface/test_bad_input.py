"""Input no handler can use is a 4xx in the envelope, never a 500: bodies
that are not JSON text (invalid UTF-8, nesting deeper than the decoder
goes), JSON of the wrong type or media type, instants that leave the
calendar once moved to UTC, and NUL in a query string. Each class is
refused in one place, so these tests pick a few routes of each; the
schemathesis run covers the rest of the document."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.integration.http.surface.conftest import assert_envelope

JSON = {"content-type": "application/json"}
SEND = b'{"to": "+447700900123", "from": "Acme", "body": "hello"'
NOT_UTF8 = b'{"name": "caf\xe9", "content": "hello", "email": "a\xff@b.com", "password": "x"}'
DEEP = b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}"
UNREADABLE = {"invalid UTF-8": NOT_UTF8, "nested 1,000 deep": DEEP}
PUBLIC_BODY_ROUTES = ["/v1/auth/login", "/v1/auth/register"]
PRIVATE_BODY_ROUTES = ["/v1/sms/send", "/v1/templates"]
DATED_ROUTES = [
    "/v1/sms?{name}={value}",
    "/v1/reports/messages?{name}={value}",
    "/v1/reports/dlr-stats?{name}={value}",
    "/v1/billing/usage/export?{name}={value}",
    "/v1/billing/transactions?{name}={value}",
]
# Valid ISO 8601 instants whose UTC value falls outside the years 1-9999.
OVERFLOWS = [
    ("to_date", "9999-12-31T23:59:59-14:00"),
    ("from_date", "0001-01-01T00:00:00%2B14:00"),
    ("to_date", "9999-12-31T23:00:00-02:00"),
]


@pytest.mark.parametrize("route", PUBLIC_BODY_ROUTES)
@pytest.mark.parametrize("body", UNREADABLE.values(), ids=list(UNREADABLE))
def test_an_unreadable_body_is_400_without_credentials(
    client: TestClient[Any], route: str, body: bytes
) -> None:
    assert_envelope(client.post(route, content=body, headers=JSON), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("route", PRIVATE_BODY_ROUTES)
@pytest.mark.parametrize("body", UNREADABLE.values(), ids=list(UNREADABLE))
def test_an_unreadable_body_is_400_or_401(
    client: TestClient[Any], owner: dict[str, str], route: str, body: bytes
) -> None:
    assert_envelope(client.post(route, content=body, headers={**owner, **JSON}),
                    400, "VALIDATION_ERROR")
    anonymous = client.post(route, content=body, headers=JSON)
    assert anonymous.status_code in (400, 401), anonymous.text
    assert_envelope(anonymous, anonymous.status_code,
                    "VALIDATION_ERROR" if anonymous.status_code == 400 else "UNAUTHORIZED")


@pytest.mark.parametrize("route", DATED_ROUTES)
@pytest.mark.parametrize(("name", "value"), OVERFLOWS)
def test_an_instant_outside_the_calendar_is_400(
    client: TestClient[Any], owner: dict[str, str], route: str, name: str, value: str
) -> None:
    response = client.get(route.format(name=name, value=value), headers=owner)
    assert_envelope(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00%2B14:00"])
def test_a_balance_as_of_outside_the_calendar_is_400(
    client: TestClient[Any], owner: dict[str, str], value: str
) -> None:
    response = client.get(f"/v1/billing/balance?as_of={value}", headers=owner)
    assert_envelope(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("url", [
    "/v1/contacts?search=a%00b", "/v1/templates?page_size=10%00", "/v1/sms?status=queued%00",
])
def test_nul_in_a_query_string_is_400(
    client: TestClient[Any], owner: dict[str, str], url: str
) -> None:
    assert_envelope(client.get(url, headers=owner), 400, "VALIDATION_ERROR")
    assert_envelope(client.get(url), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(("route", "body"), [
    ("/v1/sms/send", {"to": "+447700900123", "from": "Acme", "body": "hi",
                      "validity_minutes": "60"}),
    ("/v1/sms/send", {"to": "+447700900123", "from": "Acme", "body": "hi", "unicode": "true"}),
    ("/v1/billing/checkout", {"amount": "500", "currency": "GBP"}),
    ("/v1/billing/auto-topup", {"enabled": True, "threshold": 100, "amount": "500"}),
])
def test_a_number_sent_as_text_is_a_validation_error(
    client: TestClient[Any], owner: dict[str, str], route: str, body: dict[str, Any]
) -> None:
    body_error = assert_envelope(client.post(route, headers=owner, json=body),
                                 400, "VALIDATION_ERROR")
    assert "got `str`" in str(body_error["error"]["details"]), body_error
    balance = client.get("/v1/billing/balance", headers=owner).json()["data"]
    assert balance["reserved_micros"] == 0, balance


def test_type_errors_are_told_to_authenticated_callers_only(client: TestClient[Any]) -> None:
    body = {"to": "+447700900123", "from": "Acme", "body": "hi", "validity_minutes": "60"}
    assert_envelope(client.post("/v1/sms/send", json=body), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("content_type", [
    "multipart/form-data; boundary=x", "text/plain", "application/xml",
])
def test_a_json_body_under_another_media_type_is_refused(
    client: TestClient[Any], owner: dict[str, str], content_type: str
) -> None:
    response = client.post("/v1/sms/send", content=SEND + b"}",
                           headers={**owner, "content-type": content_type})
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    balance = client.get("/v1/billing/balance", headers=owner).json()["data"]
    assert balance["reserved_micros"] == 0, balance


def test_json_media_types_are_still_json(client: TestClient[Any], owner: dict[str, str]) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = client.post("/v1/sms/send", content=SEND + b"}",
                               headers={**owner, "content-type": content_type})
        assert response.status_code == 200, response.text
