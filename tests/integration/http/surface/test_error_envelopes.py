"""Every error anywhere is the envelope of DESIGN section 4 with the request's
id: walked over every route and method the built app registers, so routes
added later are covered without editing this file."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.integration.http.surface.conftest import (
    EVERY_METHOD,
    MAX_BODY_BYTES,
    assert_envelope,
    fill_path,
    http_routes,
    route_methods,
)
from tests.support.owner_keys import create_key, pair

# Routes anyone may call without an API credential, and why. Anything not
# listed here must answer 401 UNAUTHORIZED to a request without credentials.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe for the orchestrator",
    ("GET", "/readyz"): "readiness probe for the orchestrator",
    ("GET", "/openapi.json"): "the public API description",
    ("GET", "/openapi"): "the browsable API description",
    ("GET", "/openapi/openapi.json"): "the API description beside its page",
    ("GET", "/openapi/oauth2-redirect.html"): "part of the browsable page (Swagger UI)",
    ("GET", "/openapi/swagger-ui-bundle.js"): "the browsable page's script",
    ("GET", "/openapi/swagger-ui.css"): "the browsable page's style",
    ("GET", "/openapi/favicon-32x32.png"): "the browsable page's icon",
    ("POST", "/v1/auth/register"): "creates the account and user; nothing to sign in with yet",
    ("POST", "/v1/auth/login"): "exchanges email and password for a session",
    ("POST", "/v1/auth/refresh"): "the refresh token in the body is the credential",
    ("POST", "/v1/auth/logout"): "the refresh token in the body, or the session's bearer, is "
                                 "the credential; without either it is 401 (tested below)",
    ("POST", "/v1/auth/forgot-password"): "a user who cannot sign in asks for a reset mail",
    ("POST", "/v1/auth/reset-password"): "the reset token in the body is the credential",
    ("GET", "/v1/auth/google/url"): "starts the OIDC sign-in of a user without a session",
    ("POST", "/v1/auth/google"): "the OIDC code in the body is the credential",
    ("POST", "/v1/oauth/access_token"): "client_id and client_secret in the body are the "
                                        "credential (OAuth client credentials)",
    ("POST", "/v1/billing/stripe/webhook"): "Stripe signs the body; the signature is the "
                                            "credential",
}
# Routes that are not API-key routes but still refuse a request that lacks
# their own credential with 401: carriers post with the route's shared secret.
OWN_CREDENTIAL = {
    ("POST", "/v1/carrier/{route:str}/dlr"),
    ("POST", "/v1/carrier/{route:str}/inbound"),
}


# GET routes with a path parameter that search rather than name a resource:
# nothing found is an empty list, not 404.
SEARCHES = {"/v1/sms/by-ref/{client_ref:str}"}


def _walk(app: Litestar) -> list[tuple[str, str]]:
    return [(method, route.path) for route in http_routes(app) for method in route_methods(route)]


def test_the_walk_sees_every_route(app: Litestar) -> None:
    walked = _walk(app)
    assert len(walked) >= 60
    assert ("POST", "/v1/sms/send") in walked
    assert ("DELETE", "/v1/templates/{template_id:uuid}") in walked
    stale = [key for key in OWN_CREDENTIAL if key not in walked]
    assert not stale, f"listed routes that no longer exist: {stale}"


def test_every_private_route_answers_401_without_credentials(
    app: Litestar, client: TestClient[Any]
) -> None:
    checked = 0
    for method, path in _walk(app):
        if (method, path) in PUBLIC:
            continue
        body = {} if method in ("POST", "PUT", "PATCH") else None
        response = client.request(method, fill_path(path), json=body)
        assert_envelope(response, 401, "UNAUTHORIZED")
        checked += 1
    assert checked >= 40


def test_wrong_credentials_are_401_everywhere_too(
    app: Litestar, client: TestClient[Any]
) -> None:
    wrong = {"X-API-Key": "sk_live_" + uuid.uuid4().hex, "X-API-Secret": uuid.uuid4().hex}
    for method, path in _walk(app):
        if (method, path) in PUBLIC or (method, path) in OWN_CREDENTIAL:
            continue
        response = client.request(method, fill_path(path), headers=wrong)
        assert_envelope(response, 401, "UNAUTHORIZED")


def test_a_wrong_method_is_405_with_allow(app: Litestar, client: TestClient[Any]) -> None:
    for route in http_routes(app):
        allowed = route_methods(route)
        for method in EVERY_METHOD:
            if method in allowed:
                continue
            response = client.request(method, fill_path(route.path))
            assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
            allow = {m.strip() for m in response.headers["allow"].split(",")}
            assert set(allowed) <= allow, (method, route.path, allow)


@pytest.mark.parametrize("method", EVERY_METHOD)
@pytest.mark.parametrize("path", [
    "/nowhere", "/v1", "/v1/nowhere", "/v1/sms/send/extra", "/v2/sms/send",
    "/v1/templates/{uuid}/nowhere", "/openapi/nowhere", "/openapi.yaml", "/",
])
def test_an_unknown_path_is_404(
    client: TestClient[Any], owner: dict[str, str], method: str, path: str
) -> None:
    url = path.replace("{uuid}", str(uuid.uuid4()))
    for headers in ({}, owner):
        response = client.request(method, url, headers=headers)
        assert_envelope(response, 404, "NOT_FOUND")


def test_a_random_id_is_404_in_the_envelope(
    app: Litestar, client: TestClient[Any], owner: dict[str, str]
) -> None:
    """Every GET of a resource by id, with an owner key (every permission): a
    random id is NOT_FOUND. Admin routes take a platform operator, not a key (403)."""
    for route in http_routes(app):
        if "GET" not in route.methods or "{" not in route.path or route.path in SEARCHES:
            continue
        response = client.get(fill_path(route.path), headers=owner)
        if route.path.startswith("/v1/admin/"):
            assert_envelope(response, 403, "FORBIDDEN")
        else:
            assert_envelope(response, 404, "NOT_FOUND")


def test_logout_without_a_credential_is_401(client: TestClient[Any]) -> None:
    for body in ({}, {"refresh_token": None}):
        assert_envelope(client.post("/v1/auth/logout", json=body), 401, "UNAUTHORIZED")


def test_a_missing_permission_is_403(client: TestClient[Any], owner: dict[str, str]) -> None:
    reader = pair(create_key(client, owner, ["sms.read"]))
    response = client.post("/v1/templates", headers=reader,
                           json={"name": "n", "content": "hello"})
    assert_envelope(response, 403, "FORBIDDEN")


def test_validation_errors_use_the_envelope(
    client: TestClient[Any], owner: dict[str, str]
) -> None:
    cases: list[tuple[str, str, dict[str, Any], bytes | None]] = [
        ("POST", "/v1/templates", {"content-type": "application/json"}, b"{not json"),
        ("POST", "/v1/templates", {"content-type": "application/json"}, b"[]"),
        ("PATCH", "/v1/settings/profile", {"content-type": "application/json"}, b'{"x": 1}'),
        # No PostgreSQL text can hold NUL: refused, not a failed insert (found by schemathesis).
        ("PATCH", f"/v1/settings/webhooks/{uuid.uuid4()}", {"content-type": "application/json"},
         b'{"description": "a\\u0000b"}'),
        ("POST", "/v1/settings/webhooks", {"content-type": "application/json"},
         b'{"url": "https://example.com/\\u0000", "events": ["message.sent"]}'),
        ("GET", "/v1/sms?page_size=100000", {}, None),
        ("GET", "/v1/sms?page_size=abc", {}, None),
    ]
    for method, url, headers, content in cases:
        response = client.request(method, url, headers={**owner, **headers}, content=content)
        body = assert_envelope(response, 400, "VALIDATION_ERROR")
        assert body["error"]["message"]
    # A body that is not declared JSON is refused for its media type.
    response = client.post("/v1/templates", headers={**owner, "content-type": "text/plain"},
                           content=b"hello")
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_body_over_the_limit_is_413(client: TestClient[Any], owner: dict[str, str]) -> None:
    big = b'{"name": "n", "content": "' + b"x" * MAX_BODY_BYTES + b'"}'
    for url in ("/v1/templates", "/v1/sms/send"):
        response = client.post(url, headers={**owner, "content-type": "application/json"},
                               content=big)
        assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    form = b"to=%2B447700900123&from=Acme&body=" + b"x" * MAX_BODY_BYTES
    response = client.post("/v1/sms/send", content=form, headers={
        **owner, "content-type": "application/x-www-form-urlencoded"})
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_the_rate_limit_is_429_in_the_envelope(
    client: TestClient[Any], container: Container, owner: dict[str, str]
) -> None:
    principal = container.accounts.authenticate(owner["X-API-Key"], owner["X-API-Secret"])
    assert principal is not None
    container.accounts.set_rate_limit(principal.account_id, 1)
    responses = [client.get("/v1/templates", headers=owner) for _ in range(10)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert_envelope(limited[0], 429, "RATE_LIMITED")
    assert int(limited[0].headers["retry-after"]) >= 1


def test_an_unexpected_failure_is_500_without_internals(
    app: Litestar, client: TestClient[Any]
) -> None:
    """A handler that fails in a way nobody mapped: INTERNAL_ERROR, and the
    exception's text stays in the log."""

    @get("/v1/failing-for-test", sync_to_thread=False)
    def failing() -> None:
        raise RuntimeError("secret internals: dsn=postgresql://user:pw@db")

    app.register(failing)
    response = client.get("/v1/failing-for-test")
    body = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "secret" not in response.text and "postgresql" not in str(body)
