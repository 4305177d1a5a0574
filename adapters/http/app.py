"""The Litestar application, built around a container from the composition root."""

from __future__ import annotations

from litestar import Litestar

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
from adapters.http.settings.notifications import NotificationsController
from adapters.http.settings.profile import ProfileController
from adapters.http.settings.sandbox import SandboxController
from adapters.http.settings.sender_ids import SenderIdsController
from adapters.http.settings.templates import TemplatesController
from adapters.http.sms.controller import SmsController
from adapters.http.webhooks.controller import WebhooksController


def create_app(container: Container) -> Litestar:
    app = build_routes(container.settings.max_request_body_bytes)
    app.state.container = container
    app.state.rate_limiter = RateLimiter(
        container.accounts.rate_buckets, container.settings.rate_limit_per_s
    )
    app.state.address_limits = AddressLimits(
        container.accounts.rate_buckets, container.settings.identity
    )
    return app


def build_routes(max_request_body_bytes: int) -> Litestar:
    """The app's routes, middleware and error handlers without a container:
    enough to render the OpenAPI document, which needs no database."""
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
        middleware=[
            request_id_middleware, nul_check_middleware, form_body_middleware, key_middleware,
            idempotency_middleware,
        ],
        request_max_body_size=max_request_body_bytes,
        request_class=JsonRequest,
        openapi_config=openapi_config(),
        debug=False,
    )
