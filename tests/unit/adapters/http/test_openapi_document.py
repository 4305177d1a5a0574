"""The OpenAPI document: committed as openapi.json and identical to what the
app serves, with an operation id, a summary and tags on every route,
msgspec's schemas, the error envelope, and security on every secured route."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from adapters.config.settings import Settings
from adapters.http.app import build_routes
from adapters.http.openapi import ASSETS_DIR, rendered_spec
from adapters.http.openapi_document import CARRIER_OPERATIONS, is_authenticated, operations
from adapters.http.openapi_dump import document_text

COMMITTED = Path(__file__).resolve().parents[4] / "openapi.json"
REGENERATE = "python -m adapters.http.openapi_dump > openapi.json  (or: smsledger openapi)"
UNSECURED = {
    "getHealth", "getReadiness", "register", "login", "refreshSession", "logout",
    "forgotPassword", "resetPassword", "getGoogleAuthUrl", "googleSignIn", "createAccessToken",
    "receiveStripeWebhook",  # Stripe signs its requests; the signature is checked instead
}
# Bodies read as raw bytes: a Stripe notification (its signature covers the
# exact bytes) and a CSV upload (streamed). They have no request struct.
RAW_BODY_OPERATIONS = {"receiveStripeWebhook", "importContactsCsv"}


@pytest.fixture(scope="module")
def app() -> Litestar:
    return build_routes(Settings.from_env({}).max_request_body_bytes)


@pytest.fixture(scope="module")
def document(app: Litestar) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(rendered_spec(app))
    return loaded


def test_the_committed_file_is_the_served_document(app: Litestar) -> None:
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert document_text() == committed, (
        f"openapi.json is out of date with the routes; regenerate it with: {REGENERATE}"
    )
    with TestClient(app) as client:
        for path in ("/openapi.json", "/openapi/openapi.json"):
            served = client.get(path)
            assert served.status_code == 200
            assert served.text == committed, f"{path} differs from openapi.json"
        page = client.get("/openapi")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "swagger-ui" in page.text.lower()


def test_rendering_is_deterministic() -> None:
    first = document_text()
    assert document_text() == first
    again = json.dumps(json.loads(first), indent=2, sort_keys=True, ensure_ascii=False)
    assert again + "\n" == first


def test_it_is_openapi_3_1_with_the_security_schemes(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header",
                                 "name": "X-API-Key"}
    assert schemes["ApiSecret"]["name"] == "X-API-Secret"
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"


def test_every_route_is_named_summarised_and_tagged(app: Litestar) -> None:
    seen: set[str] = set()
    for path, method, handler in operations(app):
        where = f"{method.upper()} {path}"
        assert isinstance(handler.operation_id, str), f"{where} has no explicit operation_id"
        assert handler.operation_id not in seen, f"{where} repeats {handler.operation_id}"
        seen.add(handler.operation_id)
        assert handler.summary, f"{where} has no explicit summary"
        assert handler.resolve_tags(), f"{where} has no tags"
    assert len(seen) >= 60


def test_secured_routes_say_so(app: Litestar, document: dict[str, Any]) -> None:
    for path, method, handler in operations(app):
        operation = document["paths"][path][method]
        if is_authenticated(handler):
            assert {"ApiKey": [], "ApiSecret": []} in operation["security"], path
            assert {"Bearer": []} in operation["security"], path
            assert {"401", "403", "429"} <= set(operation["responses"]), path
        elif operation["operationId"] not in UNSECURED:
            assert operation.get("security"), f"{method} {path} is neither secured nor listed"


def test_secured_posts_take_an_idempotency_key_with_its_answers(
    app: Litestar, document: dict[str, Any]
) -> None:
    """The idempotency middleware serves every POST with a verified credential."""
    seen = 0
    for path, method, handler in operations(app):
        operation = document["paths"][path][method]
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if method != "post" or not is_authenticated(handler):
            assert "Idempotency-Key" not in headers, f"{method} {path}"
            continue
        seen += 1
        assert headers["Idempotency-Key"]["schema"] == {"type": "string", "maxLength": 255}
        responses = operation["responses"]
        assert "IDEMPOTENCY_KEY_REUSED" in responses["422"]["description"], path
        assert "still in progress" in responses["409"]["description"], path
    assert seen >= 30


def test_errors_are_the_envelope_and_every_ref_resolves(
    app: Litestar, document: dict[str, Any]
) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorResponse"]["required"]) == {"error", "meta"}
    for path, method, handler in operations(app):
        responses = document["paths"][path][method]["responses"]
        assert "default" in responses, f"{method} {path}"
        declared = {str(status) for status in handler.responses or {}}
        for status, response in responses.items():
            if status in declared:
                continue  # the route documents this answer itself (/readyz's 503)
            if status.startswith(("4", "5")) or status == "default":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
    text = json.dumps(document)
    names = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert names and names <= set(schemas), names - set(schemas)


def test_request_structs_forbid_unknown_fields_in_the_document(
    document: dict[str, Any],
) -> None:
    bodies = 0
    for item in document["paths"].values():
        for operation in item.values():
            if operation["operationId"] in CARRIER_OPERATIONS | RAW_BODY_OPERATIONS:
                continue  # carriers add fields of their own; raw bodies have no struct
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                schema = media["schema"]
                # An optional body is a oneOf of its struct and null.
                refs = [schema["$ref"]] if "$ref" in schema else [
                    option["$ref"] for option in schema.get("oneOf", []) if "$ref" in option]
                assert refs, (operation["operationId"], schema)
                for ref in refs:
                    component = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
                    assert component.get("additionalProperties") is False, ref
                bodies += 1
    assert bodies >= 25


def test_form_encoded_routes_document_both_encodings(document: dict[str, Any]) -> None:
    for path in ("/v1/sms/send", "/v1/oauth/access_token"):
        content = document["paths"][path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "application/x-www-form-urlencoded"}


def test_the_page_shows_the_finished_document_with_assets_of_its_own(app: Litestar) -> None:
    """No CDN: everything the page loads is served by the product itself, so
    it works offline; and it shows the finished document (security, the
    error envelope), not Litestar's raw one."""
    with TestClient(app) as client:
        page = client.get("/openapi")
        assert page.status_code == 200
        loaded = re.findall(r"""(?:src|href|url)\s*[=:]\s*["']([^"']+)["']""", page.text)
        assert loaded, page.text
        kinds: set[str] = set()
        for address in loaded:
            assert address.startswith("/") and not address.startswith("//"), address
            served = client.get(address)
            assert served.status_code == 200, address
            kinds.add(served.headers["content-type"].split(";")[0])
        assert {"application/javascript", "text/css", "application/json"} <= kinds
        # The finished document, as served and committed, not one embedded.
        assert "/openapi.json" in loaded
        assert "spec:" not in page.text
        assert "cdn" not in page.text.lower()


def test_the_swagger_ui_assets_are_package_data() -> None:
    pyproject = (COMMITTED.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"adapters.http" = ["assets/swagger-ui/*"]' in pyproject
    licence = (ASSETS_DIR / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence
