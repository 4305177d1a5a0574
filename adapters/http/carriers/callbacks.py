"""Callbacks from HTTP carriers: delivery reports and inbound messages.

Each route with a callback secret accepts them at /v1/carrier/{route}/...;
the carrier sends the secret in X-Carrier-Secret. A wrong or missing secret,
or a route without one, is 401 and changes nothing. A delivery report is
stored and answered; the dispatcher settles it with the others in a batch.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, JSONBody

from adapters.http.carriers.schemas import CallbackAccepted, CarrierInboundIn, CarrierReceiptIn
from adapters.http.injected import Service
from adapters.postgres.dispatch import RouteCallbackSecrets
from application.delivery.carriers import DeliveryReceipt, InboundMessage
from application.delivery.inbound import InboundService
from application.delivery.receipts import ReceiptProcessor


def _carrier_for(
    request: Request[Any, Any, Any], route: FromPath[str],
    callback_secrets: Service[RouteCallbackSecrets],
) -> str:
    """The carrier of a route whose secret the request carries. A dependency,
    so that it runs before the body is read: no secret, no validation answer."""
    found = callback_secrets.of(route)
    secret = request.headers.get("x-carrier-secret", "")
    if found is None or not secret:
        raise NotAuthorizedException("Unknown route or missing X-Carrier-Secret")
    carrier, secret_sha256 = found
    if not hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), secret_sha256):
        raise NotAuthorizedException("Invalid carrier secret")
    return carrier


class CarrierCallbacksController(Controller):
    path = "/v1/carrier"
    tags = ["Carrier callbacks"]
    dependencies = {"carrier": Provide(_carrier_for, sync_to_thread=True)}

    @post("/{route:str}/dlr", operation_id="receiveCarrierReceipt",
          summary="Carrier callback: delivery report", status_code=200,
          sync_to_thread=True)
    def receipt(
        self, request: Request[Any, Any, Any], route: FromPath[str],
        data: JSONBody[CarrierReceiptIn], carrier: NamedDependency[str],
        receipts: Service[ReceiptProcessor],
    ) -> CallbackAccepted:
        raw = msgspec.json.encode(data).decode()
        # Stored, then answered: the dispatcher settles it in its next batch.
        receipts.receive(DeliveryReceipt(
            carrier, data.message_id, data.status.strip().upper(), data.error_code,
            data.done_at, raw,
        ))
        return CallbackAccepted(accepted=True)

    @post("/{route:str}/inbound", operation_id="receiveCarrierInbound",
          summary="Carrier callback: inbound message", status_code=200,
          sync_to_thread=True)
    def inbound(
        self, request: Request[Any, Any, Any], route: FromPath[str],
        data: JSONBody[CarrierInboundIn], carrier: NamedDependency[str],
        inbound: Service[InboundService],
    ) -> CallbackAccepted:
        # `from` in any written form: read as an unknown type of number, with
        # the route's country for national ones, as SMPP numbers are.
        inbound.receive(InboundMessage(
            carrier, data.from_, data.to, data.body, data.received_at or datetime.now(UTC),
            route=route,
        ))
        return CallbackAccepted(accepted=True)
