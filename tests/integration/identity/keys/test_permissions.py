"""Every route checks its permission: a key without it gets 403 FORBIDDEN
(before anything is read or written), a key with only it gets past the check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.http.app import create_app
from domain.api_keys import PERMISSIONS
from tests.support.owner_keys import create_key, new_account, pair

SEND = {"to": "+447700900123", "from": "Acme", "body": "hi"}

# (method, path, JSON body or None, the permission the route needs)
ROUTES: list[tuple[str, str, Any, str]] = [
    ("POST", "/v1/sms/send", SEND, "sms.send"),
    ("POST", "/v1/sms/bulk", {"recipients": [{"to": "+447700900123"}], "from": "Acme",
                              "body": "hi"}, "sms.send"),
    ("POST", "/v1/sms/estimate", {"to": "+447700900123", "body": "hi"}, "sms.send"),
    ("POST", f"/v1/sms/{uuid4()}/cancel", None, "sms.send"),
    ("GET", "/v1/sms", None, "sms.read"),
    ("GET", f"/v1/sms/{uuid4()}", None, "sms.read"),
    ("GET", "/v1/sms/by-ref/order-1", None, "sms.read"),
    ("GET", f"/v1/campaigns/{uuid4()}", None, "sms.read"),
    ("GET", "/v1/inbound", None, "sms.read"),
    ("GET", "/v1/reports/messages", None, "reports.read"),
    ("GET", "/v1/reports/dlr-stats", None, "reports.read"),
    ("GET", "/v1/billing/balance", None, "billing.read"),
    ("GET", "/v1/billing/transactions", None, "billing.read"),
    ("GET", "/v1/billing/usage", None, "billing.read"),
    ("GET", "/v1/settings/api-keys", None, "settings.write"),
    ("POST", "/v1/settings/api-keys", {"name": "x", "permissions": ["settings.write"]},
     "settings.write"),
    ("DELETE", f"/v1/settings/api-keys/{uuid4()}", None, "settings.write"),
]
NEEDED = sorted({route[3] for route in ROUTES})
# Campaign progress may be read with sms.read or reports.read: a key "without
# sms.read" lacks both, so that the refusal is about the permission.
STANDS_IN_FOR = {"sms.read": {"sms.read", "reports.read"}}


@pytest.fixture(scope="module")
def matrix(database_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, dict[str, str]]]]]:
    """Per permission, an account with a key lacking only it and a key
    holding only it."""
    from adapters.bootstrap.container import build
    from adapters.config.settings import Settings

    container: Container = build(Settings.from_env({}), database_url)
    try:
        with TestClient(create_app(container)) as client:
            keys: dict[str, dict[str, dict[str, str]]] = {}
            for permission in NEEDED:
                owner = new_account(container, f"Matrix {permission}")
                lacking = STANDS_IN_FOR.get(permission, {permission})
                others = [p for p in PERMISSIONS if p not in lacking]
                keys[permission] = {
                    "without": pair(create_key(client, owner, others)),
                    "only": pair(create_key(client, owner, [permission])),
                }
            yield client, keys
    finally:
        container.close()


def _call(client: TestClient, method: str, path: str, body: Any,
          headers: dict[str, str]) -> Any:
    return client.request(method, path, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path", "body", "permission"), ROUTES,
                         ids=[f"{r[0]} {r[1][4:40]}" for r in ROUTES])
def test_a_key_without_the_permission_is_forbidden(
    matrix: tuple[TestClient, dict[str, dict[str, dict[str, str]]]],
    method: str, path: str, body: Any, permission: str,
) -> None:
    client, keys = matrix
    refused = _call(client, method, path, body, keys[permission]["without"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert permission in refused.json()["error"]["message"]
    allowed = _call(client, method, path, body, keys[permission]["only"])
    assert allowed.status_code not in (401, 403), allowed.text
    assert allowed.status_code < 500, allowed.text


def test_the_matrix_covers_every_keyed_route(
    matrix: tuple[TestClient, dict[str, dict[str, dict[str, str]]]],
) -> None:
    """A new route under these controllers must be added to ROUTES."""
    client, _ = matrix
    document = client.get("/openapi/openapi.json").json()
    covered = {"sendSms", "sendBulkSms", "estimateSms", "cancelMessage", "listMessages",
               "getMessage", "listMessagesByClientRef", "getCampaign", "listInbound",
               "listMessageReports", "getDlrStats", "getBalance", "listTransactions",
               "getUsage", "listApiKeys", "createApiKey", "revokeApiKey"}
    present = {op["operationId"] for item in document["paths"].values() for op in item.values()
               if isinstance(op, dict) and "operationId" in op}
    assert covered <= present
