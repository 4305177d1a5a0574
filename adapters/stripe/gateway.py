"""Stripe through its own library: customers, hosted Checkout Sessions (payment
and setup mode), listing sessions for reconciliation, and off-session
PaymentIntents for auto top-up.

`STRIPE_API_BASE` points the library at another host (a local stand-in in
tests); everything else, request building, retries with idempotency keys
and response parsing, is the library's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import stripe

from application.billing.ports import ChargeResult, HostedSession
from application.errors import PaymentsUnavailable

REQUEST_TIMEOUT_S = 30.0
MAX_NETWORK_RETRIES = 2
LIST_PAGE_SIZE = 100
# A reconciliation reads at most this many sessions, so that a wrong --since
# cannot page through years of history unattended.
MAX_SESSIONS_LISTED = 100_000


class StripeGateway:
    def __init__(
        self, api_key: str, *, api_base: str | None, success_url: str, cancel_url: str
    ) -> None:
        base_addresses: dict[str, str] = {"api": api_base} if api_base else {}
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=base_addresses,  # type: ignore[arg-type]
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT_S),
        )
        self._success_url = success_url
        self._cancel_url = cancel_url

    def create_customer(self, account_id: str, *, idempotency_key: str) -> str:
        customer = _call(
            self._client.v1.customers.create,
            {"metadata": {"account_id": account_id}},
            {"idempotency_key": idempotency_key},
        )
        return str(customer.id)

    def create_checkout(
        self, *, customer_ref: str, amount_minor: int, currency: str,
        metadata: Mapping[str, str], idempotency_key: str,
    ) -> HostedSession:
        params: dict[str, Any] = {
            "mode": "payment",
            "customer": customer_ref,
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount_minor,
                    "product_data": {"name": "SMS credit"},
                },
            }],
            "metadata": dict(metadata),
            # Copied onto the payment, so its refunds and disputes name the account.
            "payment_intent_data": {"metadata": dict(metadata)},
            "client_reference_id": metadata.get("account_id"),
        }
        return self._open_session(params, idempotency_key)

    def create_setup_checkout(
        self, *, customer_ref: str, currency: str, metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> HostedSession:
        params: dict[str, Any] = {
            "mode": "setup",
            "customer": customer_ref,
            "currency": currency.lower(),
            "metadata": dict(metadata),
        }
        return self._open_session(params, idempotency_key)

    def _open_session(self, params: dict[str, Any], idempotency_key: str) -> HostedSession:
        """A hosted checkout page that sends the customer back to our own pages."""
        params |= {"success_url": self._success_url, "cancel_url": self._cancel_url}
        session = _call(
            self._client.v1.checkout.sessions.create, params,
            {"idempotency_key": idempotency_key},
        )
        return HostedSession(str(session.id), str(session.url))

    def sessions_created_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        page = _call(
            self._client.v1.checkout.sessions.list,
            {"created": {"gte": int(since.timestamp())}, "limit": LIST_PAGE_SIZE},
            {},
        )
        try:
            for count, session in enumerate(page.auto_paging_iter()):
                if count >= MAX_SESSIONS_LISTED:
                    raise PaymentsUnavailable(
                        f"More than {MAX_SESSIONS_LISTED} sessions to reconcile; use a later "
                        "--since", since=since.isoformat())
                yield session.to_dict()
        except stripe.StripeError as error:
            raise PaymentsUnavailable(f"Stripe: {error.user_message or error}") from error

    def payment_method_of_setup(self, setup_ref: str) -> str:
        intent = _call(self._client.v1.setup_intents.retrieve, setup_ref, {})
        method = intent.payment_method
        return str(method if isinstance(method, str) else method.id)

    def charge_off_session(
        self, *, customer_ref: str, payment_method_ref: str, amount_minor: int,
        currency: str, metadata: Mapping[str, str], idempotency_key: str,
    ) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_ref,
            "payment_method": payment_method_ref,
            "off_session": True,
            "confirm": True,
            "metadata": dict(metadata),
        }
        try:
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as declined:
            payment = (declined.error.payment_intent if declined.error else None)
            payment_ref = str(payment.id) if payment is not None else ""
            return ChargeResult(payment_ref, False, str(declined.code or declined.user_message))
        except stripe.StripeError as error:
            # Not an answer about the card: the request is retried later.
            raise PaymentsUnavailable(f"Stripe: {error.user_message or error}") from error
        succeeded = intent.status == "succeeded"
        return ChargeResult(str(intent.id), succeeded, "" if succeeded else str(intent.status))


def _call(method: Any, params: Any, options: dict[str, Any]) -> Any:
    """Call the library; its failures become SERVICE_UNAVAILABLE with its message."""
    try:
        if isinstance(params, str):
            return method(params, options=options)
        return method(params=params, options=options)
    except stripe.StripeError as error:
        raise PaymentsUnavailable(
            f"Stripe: {error.user_message or error}", code=error.code
        ) from error
