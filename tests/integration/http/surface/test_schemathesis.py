"""schemathesis against the served OpenAPI document, in process on the ASGI
app over the real database: generated requests, valid and invalid, must
never give a 5xx, and every answer must match the document (status,
content type and body schema).

It calls as a real account: funded, with an approved sender ID, an owner key
with every permission and a limit high enough not to be rate-limited; admin
routes are called as a platform operator signed in through /v1/auth/login.
Examples per operation are bounded so the run stays within a minute or two.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from adapters.bootstrap.container import Container, build
from adapters.cli.users import create_platform_admin
from adapters.config.settings import Settings
from adapters.http.app import create_app
from adapters.http.openapi_dump import document_text
from tests.integration.billing.support import API_KEY as STRIPE_KEY
from tests.integration.billing.support import WEBHOOK_SECRET as STRIPE_SECRET
from tests.integration.http.surface.conftest import SURFACE_ENV
from tests.support.owner_keys import new_account
from tests.support.stripe_standin import StripeStandIn

# Bounded so the suite stays quick; raise it locally to hunt harder.
MAX_EXAMPLES = int(os.environ.get("SMSLEDGER_FUZZ_EXAMPLES", "25"))
# Generated requests are valid (positive) and invalid (negative) ones:
# negative_data_rejection fails any invalid request that is not refused.
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance, negative_data_rejection,
]
PASSWORD = "correct horse battery"
# Operations left out, and why: the rest of the document is exercised.
EXCLUDED_PATHS = (
    "^/v1/carrier/",  # a carrier's shared secret, not an API credential
    "^/v1/auth/google",  # needs an OIDC provider; tested against a stand-in elsewhere
)


@pytest.fixture(scope="module")
def surface(database_url: str, nats_url: str) -> Iterator[dict[str, Any]]:
    # With NATS configured, /readyz can be ready (its 503 is documented too).
    # Card payments go to the Stripe stand-in, so the billing routes answer
    # as they do in production, not with "payments are not configured".
    stripe_api = StripeStandIn()
    stripe_api.__enter__()
    env = {**SURFACE_ENV, "STRIPE_API_KEY": STRIPE_KEY, "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
           "STRIPE_API_BASE": stripe_api.base_url}
    container: Container = build(Settings.from_env(env), database_url, nats_url)
    app = create_app(container)
    try:
        owner = new_account(container, "Fuzzed Ltd")
        principal = container.accounts.authenticate(owner["X-API-Key"], owner["X-API-Secret"])
        assert principal is not None
        container.accounts.set_rate_limit(principal.account_id, 1_000_000)
        email = f"fuzz-op-{uuid.uuid4().hex[:8]}@example.com"
        create_platform_admin(container, email, PASSWORD, "Fuzz Operator")
        with TestClient(app) as client:
            login = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
            operator = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
            yield {"app": app, "owner": owner, "operator": operator}
    finally:
        container.close()
        stripe_api.__exit__(None, None, None)


def _document_schema() -> Any:
    """The served document, loaded at collection time: it needs no database
    (test_openapi_document.py checks that /openapi.json serves exactly this)."""
    loaded = schemathesis.openapi.from_dict(json.loads(document_text()))
    # The credentials are the real account's (below), not generated ones;
    # requests without or with wrong ones are test_error_envelopes.py's.
    loaded.config.generation.update(with_security_parameters=False)
    # A body over the configured size is refused as such (SURFACE_ENV keeps it small).
    rejection = loaded.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    for pattern in EXCLUDED_PATHS:
        loaded = loaded.exclude(path_regex=pattern)
    return loaded


schema = _document_schema()
# Status codes seen per operation, for the check that the calls got through.
ANSWERED: dict[str, set[int]] = {}


def test_the_fuzzed_document_is_the_served_one(surface: dict[str, Any]) -> None:
    with TestClient(surface["app"]) as client:
        assert client.get("/openapi.json").json() == json.loads(document_text())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_document(case: Any, surface: dict[str, Any]) -> None:
    admin = case.path.startswith("/v1/admin/")
    headers = surface["operator"] if admin else surface["owner"]
    response = case.call_and_validate(headers=headers, checks=CHECKS, app=surface["app"])
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    ANSWERED.setdefault(operation, set()).add(response.status_code)


def test_the_fuzzing_reached_the_handlers() -> None:
    """Run after the fuzzing (pytest keeps file order): the credentials
    worked, so most operations answered 2xx to some generated request rather
    than 401 to all of them."""
    if not ANSWERED:
        pytest.skip("the fuzzing test was not selected")
    succeeded = sorted(op for op, codes in ANSWERED.items() if any(200 <= c < 300 for c in codes))
    unauthorized = sorted(op for op, codes in ANSWERED.items() if codes == {401})
    assert len(succeeded) >= 0.6 * len(ANSWERED), (succeeded, ANSWERED)
    assert not unauthorized, unauthorized
