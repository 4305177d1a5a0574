"""The services handlers receive, by name, through Litestar's dependency
injection: a handler declares `messaging: Service[MessagingService]`
(adapters/http/injected.py) and the app provides the one the composition root built.

`service_providers` is the one place that maps the container to those names;
`create_app` registers them app-wide, and a test may replace any of them.
`request_providers` adds what comes from the request itself: `principal`,
who it acts for, and `meta`, its answer's meta block. Litestar resolves a
provider only for the handlers that declare its parameter, so a route that
does not ask for `principal` stays anonymous.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from adapters.bootstrap.container import Container
from adapters.http.bodies import Meta
from adapters.http.health import Readiness
from adapters.http.middleware.address_limits import AddressLimits
from adapters.http.middleware.auth import authenticate
from adapters.http.middleware.request_id import request_id_of
from adapters.postgres.dispatch import RouteCallbackSecrets
from adapters.postgres.read_models import ReadModels
from adapters.postgres.readiness import DatabaseProbe
from adapters.webhooks.endpoints import WebhookEndpoints


def service_providers(container: Container, address_limits: AddressLimits) -> dict[str, Provide]:
    """Every service a handler may ask for, under the name it asks by;
    `address_limits` is shared with the key middleware, which counts too."""
    identity, crm = container.identity, container.crm
    services: dict[str, object] = {
        "settings": container.settings,
        "accounts": container.accounts,
        "messaging": container.messaging,
        "send_resolver": container.send_resolver,
        "estimator": container.estimator,
        "outcomes": container.outcomes,
        "wallets": container.wallets,
        "inbound": container.inbound,
        "receipts": container.receipts,
        "unprojected": container.unprojected,
        "sender_ids": container.sender_ids,
        "templates": container.templates,
        "notifications": container.notifications,
        "sandbox": container.sandbox,
        "billing": container.billing,
        "payment_notifications": container.payment_notifications,
        "auto_topup": container.auto_topup,
        "invoices": container.invoices,
        "identity": identity,
        "api_keys": container.api_key_service,
        "contacts": crm.contacts,
        "contact_imports": crm.imports,
        "audience": crm.audience,
        "campaigns": crm.campaigns,
        "webhook_guard": container.webhook_guard,
        "webhook_endpoints": WebhookEndpoints(container.pool),
        "read_models": ReadModels(container.pool),
        "callback_secrets": RouteCallbackSecrets(container.pool),
        "address_limits": address_limits,
        "readiness": Readiness(
            DatabaseProbe(container.database_pools()), container.nats_url,
            container.settings.roles_status_file,
        ),
    }
    assert services.keys() == set(SERVICE_NAMES), "the document app must know every name"
    return {name: provided(value) for name, value in services.items()}


def request_providers() -> dict[str, Provide]:
    """What every handler may ask of its request, whether or not the app has
    services (the document app registers these too)."""
    return {
        "principal": Provide(authenticate, sync_to_thread=False),
        "meta": Provide(request_meta, sync_to_thread=False),
    }


def request_meta(request: Request[Any, Any, Any]) -> Meta:
    return Meta(request_id=request_id_of(request.scope))


def provided(value: object) -> Provide:
    """A provider that hands out `value`, built once, to every request."""

    def provide() -> Any:
        return value

    return Provide(provide, sync_to_thread=False)


SERVICE_NAMES = (
    "settings", "accounts", "messaging", "send_resolver", "estimator", "outcomes", "wallets",
    "inbound", "receipts", "unprojected", "sender_ids", "templates", "notifications", "sandbox",
    "billing", "payment_notifications", "auto_topup", "invoices", "identity", "api_keys",
    "contacts", "contact_imports", "audience", "campaigns", "webhook_guard", "webhook_endpoints",
    "read_models", "readiness", "address_limits", "callback_secrets",
)


def document_providers() -> dict[str, Provide]:
    """The same names for an app that only renders the OpenAPI document and
    serves no request: its handlers are registered, never called."""
    return {name: _refused(name) for name in SERVICE_NAMES}


def _refused(name: str) -> Provide:
    # One function per name: Litestar refuses one provider under two keys.
    def refuse() -> Any:
        raise RuntimeError(f"this app renders the OpenAPI document only; it has no {name}")

    return Provide(refuse, sync_to_thread=False)

