"""The Litestar application, built around a container from the composition root."""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from adapters.bootstrap import Container
from adapters.http.controllers.billing import BillingController
from adapters.http.controllers.campaign_commands import (
    AdminCampaignsController,
    CampaignCommandsController,
)
from adapters.http.controllers.campaigns import CampaignsController
from adapters.http.controllers.carrier_callbacks import CarrierCallbacksController
from adapters.http.controllers.contact_groups import ContactGroupsController, ContactTagsController
from adapters.http.controllers.contacts import ContactsController
from adapters.http.controllers.health import HealthController
from adapters.http.controllers.inbound import InboundController
from adapters.http.controllers.messages import MessagesController
from adapters.http.controllers.opt_outs import OptOutsController
from adapters.http.controllers.reports import ReportsController
from adapters.http.controllers.sms import SmsController
from adapters.http.errors import EXCEPTION_HANDLERS
from adapters.http.idempotency import idempotency_middleware
from adapters.http.request_id import request_id_middleware

MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024  # a 10,000-recipient bulk with variables


def create_app(container: Container) -> Litestar:
    app = Litestar(
        route_handlers=[
            HealthController,
            SmsController,
            MessagesController,
            ReportsController,
            CampaignsController,
            BillingController,
            InboundController,
            CarrierCallbacksController,
            ContactsController,
            ContactGroupsController,
            ContactTagsController,
            OptOutsController,
            CampaignCommandsController,
            AdminCampaignsController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_id_middleware, idempotency_middleware],
        request_max_body_size=MAX_REQUEST_BODY_BYTES,
        openapi_config=OpenAPIConfig(title="smsledger", version="0.1.0", path="/openapi"),
        debug=False,
    )
    app.state.container = container
    return app
