"""Mass assignment: no body can set what the server owns. Every route with a
JSON body (found in the served OpenAPI document, so new routes are covered)
refuses each server-owned field that is not one of its own with
VALIDATION_ERROR naming the field, and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.cli.users import create_platform_admin
from tests.integration.http.surface.conftest import assert_envelope, fill_path
from tests.support.owner_keys import new_account

SERVER_OWNED = (
    "status", "cost", "cost_micros", "price", "price_micros", "balance", "balance_micros",
    "account_id", "id", "created_at", "updated_at", "sandbox", "user_id", "role",
    "platform_admin", "permissions", "key_id", "revoked", "secret",
)
# Operations whose body is not ours to close, and why.
OPEN_BODIES = {
    "receiveCarrierReceipt": "carriers add fields of their own; only the documented ones are"
                             " read, and the route's secret is the caller",
    "receiveCarrierInbound": "as above",
}
PASSWORD = "correct horse battery"


@pytest.fixture
def document(client: TestClient[Any]) -> dict[str, Any]:
    served = client.get("/openapi.json")
    assert served.status_code == 200
    loaded: dict[str, Any] = served.json()
    return loaded


@pytest.fixture
def operator(client: TestClient[Any], container: Container) -> dict[str, str]:
    email = f"op-{uuid.uuid4().hex[:10]}@example.com"
    create_platform_admin(container, email, PASSWORD, "Olive Operator")
    login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['data']['access_token']}"}


def _json_bodies(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, a URL for the path, the body's schema) of every operation with
    a JSON body."""
    schemas = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content or operation["operationId"] in OPEN_BODIES:
                continue
            schema = content["application/json"]["schema"]
            # An optional body is a oneOf of its struct and null.
            ref = schema.get("$ref") or next(
                option["$ref"] for option in schema["oneOf"] if "$ref" in option)
            found.append((method.upper(), _url(path, operation), schemas[ref.rsplit("/", 1)[1]]))
    return found


def _url(path: str, operation: dict[str, Any]) -> str:
    """The path with a random value of each parameter's documented type."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            kind = "uuid" if parameter["schema"].get("format") == "uuid" else "str"
            name = parameter["name"]
            path = path.replace("{" + name + "}", "{" + f"{name}:{kind}" + "}")
    return fill_path(path)


def test_no_body_can_set_a_server_owned_field(
    client: TestClient[Any], container: Container, document: dict[str, Any],
    operator: dict[str, str],
) -> None:
    owner = new_account(container, "Assign Ltd")
    principal = container.accounts.authenticate(owner["X-API-Key"], owner["X-API-Secret"])
    assert principal is not None
    container.accounts.set_rate_limit(principal.account_id, 1_000_000)
    bodies = _json_bodies(document)
    assert len(bodies) >= 25
    refused = 0
    for method, path, schema in bodies:
        headers = operator if path.startswith("/v1/admin/") else owner
        for name in SERVER_OWNED:
            if name in schema.get("properties", {}):
                continue  # a field of this request, such as an adjustment's sandbox
            response = client.request(method, path, headers=headers, json={name: "x"})
            body = assert_envelope(response, 400, "VALIDATION_ERROR")
            assert name in str(body["error"]), (method, path, name, body)
            refused += 1
    assert refused >= 300


def test_a_refused_field_changes_nothing(
    client: TestClient[Any], container: Container
) -> None:
    owner = new_account(container, "Assign Twice Ltd")
    made = client.post("/v1/templates", headers=owner, json={"name": "t", "content": "hi"})
    assert made.status_code == 201
    template = made.json()["data"]
    for extra in ({"id": str(uuid.uuid4())}, {"account_id": "acc_other"},
                  {"created_at": "2000-01-01T00:00:00Z"}):
        response = client.patch(f"/v1/templates/{template['id']}", headers=owner,
                                json={"name": "renamed", **extra})
        assert_envelope(response, 400, "VALIDATION_ERROR")
    again = client.get(f"/v1/templates/{template['id']}", headers=owner).json()["data"]
    assert again == template


def test_a_form_encoded_send_refuses_them_too(
    client: TestClient[Any], container: Container
) -> None:
    owner = new_account(container, "Assign Form Ltd")
    for name in ("status", "cost", "account_id", "sandbox"):
        response = client.post(
            "/v1/sms/send", headers={**owner, "content-type": "application/x-www-form-urlencoded"},
            content=f"to=%2B447700900123&from=Acme&body=hi&{name}=0".encode(),
        )
        body = assert_envelope(response, 400, "VALIDATION_ERROR")
        assert name in str(body["error"])


def test_the_oauth_token_route_refuses_them(
    client: TestClient[Any], owner: dict[str, str]
) -> None:
    for name in ("account_id", "permissions", "sandbox"):
        response = client.post("/v1/oauth/access_token", json={
            "client_id": owner["X-API-Key"], "client_secret": owner["X-API-Secret"],
            name: "x"})
        body = assert_envelope(response, 400, "VALIDATION_ERROR")
        assert name in str(body["error"])
