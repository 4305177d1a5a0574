"""The Litestar application, built around a container from the composition root."""

from __future__ import annotations

from litestar import Litestar

from adapters.bootstrap import Container
from adapters.http.address_limits import AddressLimits
from adapters.http.controllers.admin_accounts import AdminAccountsController
from adapters.http.controllers.admin_rate_overrides import AdminRateOverridesController
from adapters.http.controllers.admin_sender_ids import AdminSenderIdsController
from adapters.http.controllers.api_keys import ApiKeysController
from adapters.http.controllers.auth import AuthController
from adapters.http.controllers.billing import BillingController
from adapters.http.controllers.campaign_commands import (
    AdminCampaignsController,
    CampaignCommandsController,
)
from adapters.http.controllers.campaigns import CampaignsController
from adapters.http.controllers.carrier_callbacks import CarrierCallbacksController
from adapters.http.controllers.checkout import CheckoutController
from adapters.http.controllers.contact_groups import ContactGroupsController, ContactTagsController
from adapters.http.controllers.contacts import ContactsController
from adapters.http.controllers.google_auth import GoogleAuthController
from adapters.http.controllers.health import HealthController
from adapters.http.controllers.inbound import InboundController
from adapters.http.controllers.invoices import InvoicesController
from adapters.http.controllers.messages import MessagesController
from adapters.http.controllers.notifications import NotificationsController
from adapters.http.controllers.oauth import OAuthController
from adapters.http.controllers.opt_outs import OptOutsController
from adapters.http.controllers.profile import ProfileController
from adapters.http.controllers.reports import ReportsController
from adapters.http.controllers.sandbox import SandboxController
from adapters.http.controllers.sender_ids import SenderIdsController
from adapters.http.controllers.sms import SmsController
from adapters.http.controllers.stripe_webhook import StripeWebhookController
from adapters.http.controllers.templates import TemplatesController
from adapters.http.controllers.usage_export import UsageExportController
from adapters.http.controllers.webhooks import WebhooksController
from adapters.http.errors import EXCEPTION_HANDLERS
from adapters.http.form_bodies import form_body_middleware
from adapters.http.idempotency import idempotency_middleware
from adapters.http.json_bodies import JsonRequest
from adapters.http.key_middleware import key_middleware
from adapters.http.openapi import openapi_config, openapi_json
from adapters.http.query_strings import nul_check_middleware
from adapters.http.rate_limit import RateLimiter
from adapters.http.request_id import request_id_middleware


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
