"""POST /v1/billing/stripe/webhook: Stripe's notifications.

No API key: the `Stripe-Signature` header, checked by the stripe library
against STRIPE_WEBHOOK_SECRET with five minutes' tolerance, is the only proof
that Stripe sent the body. A rejected signature is 400 so that Stripe shows it
as failing; a handled notification is 200 whatever it led to, so that Stripe
stops retrying it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import RawBody

from adapters.config.settings import Settings
from adapters.http.billing.schemas import StripeEventOut
from adapters.http.bodies import Envelope
from adapters.http.injected import RequestMeta, Service
from adapters.stripe.webhook import verify_notification
from application.billing.payment_notifications import PaymentNotifications
from application.errors import PaymentsUnavailable

MAX_WEBHOOK_BODY_BYTES = 1024 * 1024


class StripeWebhookController(Controller):
    path = "/v1/billing/stripe"
    tags = ["Billing"]

    @post("/webhook", operation_id="receiveStripeWebhook",
          summary="Receive a Stripe notification", status_code=200,
          sync_to_thread=True, request_max_body_size=MAX_WEBHOOK_BODY_BYTES)
    def webhook(self, request: Request[Any, Any, Any], meta: RequestMeta, body: RawBody,
        payment_notifications: Service[PaymentNotifications],
        settings: Service[Settings]) -> Envelope[StripeEventOut]:
        secret = settings.billing.stripe_webhook_secret
        if secret is None:
            raise PaymentsUnavailable(
                "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET)"
            )
        notification = verify_notification(
            body, request.headers.get("stripe-signature"), secret
        )
        outcome = payment_notifications.handle(
            notification.id, notification.type, notification.object
        )
        return Envelope(
            data=StripeEventOut(received=True, outcome=outcome),
            meta=meta,
        )
