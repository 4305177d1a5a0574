"""The processor's notifications, once verified: what each type does.

Stripe delivers at least once and in no particular order, so every handler is
idempotent by what it changes (a session's receipt, a charge's cumulative
refund, a dispute's id), never by the notification's own id. Each one is
recorded with its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from application.billing.payments import BillingService
from application.billing.ports import BillingStore

log = logging.getLogger(__name__)

SESSION_COMPLETED = "checkout.session.completed"
SESSION_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
SESSION_ASYNC_FAILED = "checkout.session.async_payment_failed"
CHARGE_REFUNDED = "charge.refunded"
DISPUTE_CREATED = "charge.dispute.created"


class PaymentNotifications:
    def __init__(self, billing: BillingService, store: BillingStore) -> None:
        self._billing = billing
        self._store = store

    def handle(self, event_ref: str, event_type: str, obj: Mapping[str, Any]) -> str:
        """Act on one verified notification; returns what it led to."""
        outcome = self._outcome(event_type, obj)
        self._store.record_notification(event_ref, event_type, str(obj.get("id", "")), outcome)
        log.info("payment notification %s %s: %s", event_type, event_ref, outcome)
        return outcome

    def _outcome(self, event_type: str, obj: Mapping[str, Any]) -> str:
        billing = self._billing
        if event_type in (SESSION_COMPLETED, SESSION_ASYNC_SUCCEEDED):
            return self._session_outcome(obj)
        if event_type == SESSION_ASYNC_FAILED:
            return "payment failed; nothing credited"
        if event_type == CHARGE_REFUNDED:
            return "refund debited" if billing.refund(obj) else "refund already debited"
        if event_type == DISPUTE_CREATED:
            return "sending frozen" if billing.open_dispute(obj) else "dispute already open"
        return "ignored"

    def _session_outcome(self, session: Mapping[str, Any]) -> str:
        if session.get("mode") == "setup":
            return "payment method saved" if self._billing.save_setup(session) else "ignored"
        if session.get("payment_status") != "paid":
            return "awaiting payment"
        if self._billing.credit_session(session):
            return "credited"
        return "already credited or not ours"
