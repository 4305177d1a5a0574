"""The Litestar application, built around a container from the composition root."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from litestar import Litestar
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from adapters.bootstrap.container import Container
from adapters.http.admin.accounts import AdminAccountsController
from adapters.http.admin.rate_overrides import AdminRateOverridesController
from adapters.http.admin.sender_ids import AdminSenderIdsController
from adapters.http.billing.checkout import CheckoutController
from adapters.http.billing.controller import BillingController
from adapters.http.billing.invoices import InvoicesController
from adapters.http.billing.stripe_webhook import StripeWebhookController
from adapters.http.billing.usage_export import UsageExportController
from adapters.http.campaigns.commands import (
    AdminCampaignsController,
    CampaignCommandsController,
)
from adapters.http.campaigns.controller import CampaignsController
from adapters.http.carriers.callbacks import CarrierCallbacksController
from adapters.http.contacts.controller import ContactsController
from adapters.http.contacts.groups import ContactGroupsController, ContactTagsController
from adapters.http.contacts.opt_outs import OptOutsController
from adapters.http.errors import EXCEPTION_HANDLERS
from adapters.http.form_bodies import form_body_middleware
from adapters.http.health import HealthController
from adapters.http.identity.api_keys import ApiKeysController
from adapters.http.identity.controller import AuthController
from adapters.http.identity.google import GoogleAuthController
from adapters.http.identity.oauth import OAuthController
from adapters.http.json_bodies import JsonRequest
from adapters.http.messages.controller import MessagesController
from adapters.http.messages.inbound import InboundController
from adapters.http.messages.reports import ReportsController
from adapters.http.middleware.address_limits import AddressLimits
from adapters.http.middleware.api_keys import key_middleware
from adapters.http.middleware.idempotency import idempotency_middleware
from adapters.http.middleware.rate_limit import RateLimiter
from adapters.http.middleware.request_id import request_id_middleware
from adapters.http.openapi import openapi_config, openapi_json
from adapters.http.query_strings import nul_check_middleware
from adapters.http.services import document_providers, request_providers, service_providers
from adapters.http.settings.notifications import NotificationsController
from adapters.http.settings.profile import ProfileController
from adapters.http.settings.sandbox import SandboxController
from adapters.http.settings.sender_ids import SenderIdsController
from adapters.http.settings.templates import TemplatesController
from adapters.http.sms.controller import SmsController
from adapters.http.webhooks.controller import WebhooksController
from adapters.postgres.idempotency import PostgresIdempotencyKeys


def create_app(container: Container, overrides: Mapping[str, Provide] | None = None) -> Litestar:
    """The API on `container`'s services; `overrides` replaces providers by
    name (adapters/http/services.py), as a test does with a double."""
    max_body_bytes = container.settings.max_request_body_bytes
    limits = AddressLimits(container.accounts.rate_buckets, container.settings.identity)
    gatekeepers = [
        DefineMiddleware(
            key_middleware, accounts=container.accounts, identity=container.identity,
            limiter=RateLimiter(
                container.accounts.rate_buckets, container.settings.rate_limit_per_s
            ),
            limits=limits,
        ),
        DefineMiddleware(
            idempotency_middleware, store=PostgresIdempotencyKeys(container.pool),
            max_body_bytes=max_body_bytes,
        ),
    ]
    return build_routes(
        max_body_bytes, {**service_providers(container, limits), **(overrides or {})}, gatekeepers
    )


def build_routes(
    max_request_body_bytes: int,
    dependencies: Mapping[str, Provide] | None = None,
    gatekeepers: Sequence[DefineMiddleware] = (),
) -> Litestar:
    """The app's routes, middleware and error handlers. Without services it
    still renders the OpenAPI document, which needs no database."""
    return Litestar(
        route_handlers=[
            openapi_json,
            HealthController,
            SmsController,
            MessagesController,
            ReportsController,
            CampaignsController,
            BillingController,
            InboundController,
            CarrierCallbacksController,
            AuthController,
            GoogleAuthController,
            ProfileController,
            AdminAccountsController,
            AdminRateOverridesController,
            TemplatesController,
            SenderIdsController,
            AdminSenderIdsController,
            NotificationsController,
            SandboxController,
            ApiKeysController,
            OAuthController,
            WebhooksController,
            CheckoutController,
            StripeWebhookController,
            InvoicesController,
            UsageExportController,
            ContactsController,
            ContactGroupsController,
            ContactTagsController,
            OptOutsController,
            CampaignCommandsController,
            AdminCampaignsController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        dependencies={
            **request_providers(),
            **(document_providers() if dependencies is None else dependencies),
        },
        middleware=[
            request_id_middleware, nul_check_middleware,
            DefineMiddleware(form_body_middleware, max_body_bytes=max_request_body_bytes),
            *gatekeepers,
        ],
        request_max_body_size=max_request_body_bytes,
        request_class=JsonRequest,
        openapi_config=openapi_config(),
        debug=False,
    )
