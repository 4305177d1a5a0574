"""Cross-tenant matrix: every route that takes a resource's id in its path,
called by another account with that account's full-permission key, is 404
NOT_FOUND, shows nothing of the resource and changes nothing.

The routes come from the app at run time: each path parameter must belong to
a resource in RESOURCES (one line to add one) or be listed in NOT_TENANT_IDS
with the reason, so a new route cannot slip past.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from application.billing.invoices import month_bounds
from tests.integration.http.surface.conftest import (
    assert_envelope,
    fill_path,
    http_routes,
    route_methods,
)
from tests.support.owner_keys import new_account
from tests.support.projections import project_everything

Headers = dict[str, str]
# (client, container, owner's headers) -> (id, the resource as its owner sees it)
Create = Callable[[TestClient[Any], Container, Headers], tuple[str, dict[str, Any]]]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def make_message(client: TestClient[Any], container: Container, a: Headers) -> tuple[str, dict]:
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    sent = _ok(client.post("/v1/sms/send", headers=a, json={
        "to": "+447700900456", "from": "Acme", "body": f"Private note {_tag()}",
        "client_ref": f"ref-{_tag()}", "scheduled_at": later}))
    project_everything(container)
    return sent["id"], _ok(client.get(f"/v1/sms/{sent['id']}", headers=a))


def make_campaign(client: TestClient[Any], container: Container, a: Headers) -> tuple[str, dict]:
    bulk = _ok(client.post("/v1/sms/bulk", headers=a, json={
        "recipients": [{"to": "+447700900457"}, {"to": "+447700900458"}],
        "from": "Acme", "body": f"Private offer {_tag()}", "client_ref": f"camp-{_tag()}"}))
    project_everything(container)
    return bulk["batch_id"], _ok(client.get(f"/v1/campaigns/{bulk['batch_id']}", headers=a))


def make_template(client: TestClient[Any], _: Container, a: Headers) -> tuple[str, dict]:
    made = _ok(client.post("/v1/templates", headers=a, json={
        "name": f"secret-{_tag()}", "content": f"Hello {{{{name}}}} {_tag()}"}), 201)
    return made["id"], _ok(client.get(f"/v1/templates/{made['id']}", headers=a))


def make_api_key(client: TestClient[Any], _: Container, a: Headers) -> tuple[str, dict]:
    made = _ok(client.post("/v1/settings/api-keys", headers=a, json={
        "name": f"ci-{_tag()}", "permissions": ["sms.read"]}), 201)
    listed = _ok(client.get("/v1/settings/api-keys", headers=a))
    return made["id"], next(k for k in listed if k["id"] == made["id"])


def make_webhook(client: TestClient[Any], _: Container, a: Headers) -> tuple[str, dict]:
    made = _ok(client.post("/v1/settings/webhooks", headers=a, json={
        "url": f"http://127.0.0.1:9/hooks/{_tag()}", "events": ["message.delivered"],
        "description": f"private hook {_tag()}"}), 201)
    return made["id"], _ok(client.get(f"/v1/settings/webhooks/{made['id']}", headers=a))


def make_contact(client: TestClient[Any], _: Container, a: Headers) -> tuple[str, dict]:
    made = _ok(client.post("/v1/contacts", headers=a, json={
        "phone": "+447700900460", "first_name": f"Private{_tag()}",
        "email": f"private-{_tag()}@example.com"}), 201)
    return made["id"], _ok(client.get(f"/v1/contacts/{made['id']}", headers=a))


def _label(client: TestClient[Any], a: Headers, kind: str) -> tuple[str, dict]:
    made = _ok(client.post(f"/v1/contacts/{kind}", headers=a,
                           json={"name": f"private-{kind}-{_tag()}"}), 201)
    listed = _ok(client.get(f"/v1/contacts/{kind}", headers=a))
    return made["id"], next(g for g in listed if g["id"] == made["id"])


def make_group(client: TestClient[Any], _: Container, a: Headers) -> tuple[str, dict]:
    return _label(client, a, "groups")


def make_tag(client: TestClient[Any], _: Container, a: Headers) -> tuple[str, dict]:
    return _label(client, a, "tags")


def make_import(client: TestClient[Any], _: Container, a: Headers) -> tuple[str, dict]:
    report = _ok(client.post("/v1/contacts/import", headers=a, json={"contacts": [
        {"phone": "+447700900461", "first_name": f"Imported{_tag()}"}]}))
    return report["id"], _ok(client.get(f"/v1/contacts/imports/{report['id']}", headers=a))


def make_invoice(client: TestClient[Any], container: Container, a: Headers) -> tuple[str, dict]:
    account_id = _ok(client.get("/v1/settings/profile", headers=a))["account_id"]
    month = datetime.now(UTC).strftime("%Y-%m")
    _, month_end = month_bounds(month)
    (invoice,) = container.invoices.close_month(month, month_end, account_id=account_id)
    return str(invoice.id), _ok(client.get(f"/v1/billing/invoices/{invoice.id}", headers=a))


@dataclass(frozen=True)
class Resource:
    name: str
    param: str  # the path parameter that carries its id
    create: Create
    read: str | None  # the owner's GET, to check nothing changed
    bodies: dict[str, Any] = field(default_factory=dict)  # "METHOD path" -> a valid body


RESOURCES = [
    Resource("message", "message_id", make_message, "/v1/sms/{id}"),
    Resource("campaign", "campaign_id", make_campaign, "/v1/campaigns/{id}", {
        "POST /v1/campaigns/{campaign_id:uuid}/recipients": {
            "recipients": [{"to": "+447700900459"}]},
    }),
    Resource("contact", "contact_id", make_contact, "/v1/contacts/{id}", {
        "PATCH /v1/contacts/{contact_id:uuid}": {"first_name": "Stolen"},
        "POST /v1/contacts/{contact_id:uuid}/tags": {"tag_id": str(uuid.uuid4())},
    }),
    Resource("contact group", "group_id", make_group, None),
    Resource("contact tag", "tag_id", make_tag, None),
    Resource("contact import", "import_id", make_import, "/v1/contacts/imports/{id}"),
    Resource("invoice", "invoice_id", make_invoice, "/v1/billing/invoices/{id}"),
    Resource("template", "template_id", make_template, "/v1/templates/{id}", {
        "PATCH /v1/templates/{template_id:uuid}": {"name": "stolen", "content": "stolen"}}),
    Resource("api key", "key_id", make_api_key, None),
    Resource("webhook", "endpoint_id", make_webhook, "/v1/settings/webhooks/{id}", {
        "PATCH /v1/settings/webhooks/{endpoint_id:uuid}": {"active": False, "url":
                                                           "http://127.0.0.1:9/stolen"},
        "POST /v1/settings/webhooks/{endpoint_id:uuid}/replay": {},
    }),
]
# Path parameters that are not one account's resource id, and why.
NOT_TENANT_IDS = {
    "account_id": "admin routes: platform operators work across accounts by design"
                  " (test_admin.py refuses keys and ordinary users)",
    "country": "admin rate overrides, under an account_id",
    "sender_id_request": "admin approval of a sender ID; operators only",
    "route": "carrier callbacks, authenticated by the route's own secret",
    "client_ref": "a search: another account's reference finds nothing (tested below)",
}
PARAM = re.compile(r"\{(\w+):\w+\}")


def _routes_by_param(app: Litestar) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for route in http_routes(app):
        for name in PARAM.findall(route.path):
            for method in route_methods(route):
                found.setdefault(name, []).append((method, route.path))
    return found


def test_every_id_in_a_path_is_in_the_matrix(app: Litestar) -> None:
    known = {r.param for r in RESOURCES} | set(NOT_TENANT_IDS)
    unknown = {name: calls for name, calls in _routes_by_param(app).items()
               if name not in known}
    assert not unknown, f"add these to RESOURCES (or NOT_TENANT_IDS, with why): {unknown}"


def _strings(value: Any) -> set[str]:
    """The resource's distinctive text: what must not reach a stranger."""
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return {value} if isinstance(value, str) and len(value) >= 8 else set()


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_another_accounts_resource_is_not_found(
    app: Litestar, client: TestClient[Any], container: Container, resource: Resource
) -> None:
    alice = new_account(container, "Alice Ltd")
    mallory = new_account(container, "Mallory Ltd")
    resource_id, seen = resource.create(client, container, alice)
    secrets = _strings(seen) - {resource_id}
    # Operators' routes work across accounts by design; a key gets 403 there
    # (tests/integration/identity/users/test_admin.py and the campaign tests).
    calls = [(method, path) for method, path in _routes_by_param(app)[resource.param]
             if not path.startswith("/v1/admin/")]
    assert calls
    for method, path in calls:
        url = fill_path(path, {resource.param: resource_id})
        body = resource.bodies.get(f"{method} {path}", {} if method in ("POST", "PATCH") else None)
        response = client.request(method, url, headers=mallory, json=body)
        error = assert_envelope(response, 404, "NOT_FOUND")
        assert "data" not in error
        leaked = [s for s in secrets if s in response.text]
        assert not leaked, (method, path, leaked)
    if resource.read is not None:
        again = client.get(resource.read.format(id=resource_id), headers=alice)
        assert again.status_code == 200, again.text
        assert _unchanged(seen, again.json()["data"]), (seen, again.json()["data"])


def _unchanged(before: dict[str, Any], after: dict[str, Any]) -> bool:
    volatile = {"updated_at", "last_used_at", "events"}
    return {k: v for k, v in before.items() if k not in volatile} == {
        k: v for k, v in after.items() if k not in volatile}


def test_an_api_key_revoked_by_a_stranger_still_works(
    client: TestClient[Any], container: Container
) -> None:
    alice = new_account(container, "Alice Keys Ltd")
    mallory = new_account(container, "Mallory Keys Ltd")
    made = _ok(client.post("/v1/settings/api-keys", headers=alice, json={
        "name": "kept", "permissions": ["templates.read"]}), 201)
    refused = client.delete(f"/v1/settings/api-keys/{made['id']}", headers=mallory)
    assert_envelope(refused, 404, "NOT_FOUND")
    own = {"X-API-Key": made["key"], "X-API-Secret": made["secret"]}
    assert client.get("/v1/templates", headers=own).status_code == 200


def test_another_accounts_client_ref_finds_nothing(
    client: TestClient[Any], container: Container
) -> None:
    alice = new_account(container, "Alice Refs Ltd")
    mallory = new_account(container, "Mallory Refs Ltd")
    ref = f"order-{_tag()}"
    _ok(client.post("/v1/sms/send", headers=alice, json={
        "to": "+447700900459", "from": "Acme", "body": "Your order", "client_ref": ref}))
    project_everything(container)
    assert len(_ok(client.get(f"/v1/sms/by-ref/{ref}", headers=alice))) == 1
    theirs = client.get(f"/v1/sms/by-ref/{ref}", headers=mallory)
    assert theirs.status_code == 200
    assert theirs.json()["data"] == []
    assert "+447700900459" not in theirs.text
