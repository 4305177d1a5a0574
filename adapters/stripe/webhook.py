"""Verifying Stripe's webhook signatures with the library's own verifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from application.errors import InvalidSignature

TOLERANCE_S = 300  # five minutes, Stripe's own default


@dataclass(frozen=True, slots=True)
class VerifiedNotification:
    id: str
    type: str
    object: dict[str, Any]


def verify_notification(
    payload: bytes, signature: str | None, secret: str, *, tolerance_s: int = TOLERANCE_S
) -> VerifiedNotification:
    """The notification, if `Stripe-Signature` signs this exact body with our
    secret within the tolerance; InvalidSignature otherwise."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance_s)
    except stripe.SignatureVerificationError as error:
        raise InvalidSignature(f"Webhook signature rejected: {error.user_message or error}") \
            from None
    except ValueError:
        raise InvalidSignature("Webhook body is not JSON") from None
    return VerifiedNotification(str(event.id), str(event.type), event.data.object.to_dict())
