"""Billing's part of the composition root: top-ups through the payment
processor, its notifications, auto top-up and invoices; and the auto-topup
role, which runs the auto top-up policy over the event log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from adapters.config.settings import Settings
from adapters.postgres.billing.invoices import PostgresInvoices
from adapters.postgres.billing.payments import PostgresBillingStore, PostgresPolicyPositions
from adapters.stripe.gateway import StripeGateway
from application.billing.auto_topup import AutoTopUp
from application.billing.invoices import InvoiceService
from application.billing.payment_notifications import PaymentNotifications
from application.billing.payments import BillingService, CheckoutLimits
from application.billing.ports import PaymentGateway
from application.ledger.app import LedgerApplication
from application.ledger.wallets import WalletService
from application.ports import AccountDirectory

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
ERROR_BACKOFF_S = 10.0


@dataclass
class Billing:
    payments: BillingService
    payment_notifications: PaymentNotifications
    auto_topup: AutoTopUp
    invoices: InvoiceService


def build_billing(
    settings: Settings, app: LedgerApplication, pool: ConnectionPool, wallets: WalletService,
    accounts: AccountDirectory,
) -> Billing:
    store = PostgresBillingStore(pool)
    gateway = build_payment_gateway(settings)
    payments = BillingService(
        app, wallets, accounts, store, gateway,
        CheckoutLimits(settings.billing.topup_min_minor, settings.billing.topup_max_minor),
    )
    return Billing(
        payments=payments,
        payment_notifications=PaymentNotifications(payments, store),
        auto_topup=AutoTopUp(app, payments, store, gateway, PostgresPolicyPositions(pool)),
        invoices=InvoiceService(app, PostgresInvoices(pool)),
    )


def build_payment_gateway(settings: Settings) -> PaymentGateway | None:
    """Stripe when STRIPE_API_KEY is set; without it live checkout is 503."""
    billing = settings.billing
    if billing.stripe_api_key is None:
        return None
    success_url, cancel_url = settings.checkout_urls()
    return StripeGateway(
        billing.stripe_api_key, api_base=billing.stripe_api_base,
        success_url=success_url, cancel_url=cancel_url,
    )


async def run_auto_topup(policy: AutoTopUp, stop: asyncio.Event) -> None:
    """Handle auto top-up requests until `stop` is set. A run that fails (the
    processor is down, say) leaves its position, so the same requests are
    retried after a pause; their idempotency keys make a retry safe."""
    while not stop.is_set():
        pause_s = POLL_INTERVAL_S
        try:
            handled = await asyncio.to_thread(policy.run_once)
            if handled:
                pause_s = 0.0
        except Exception:
            log.exception("auto top-up run failed; retrying in %s s", ERROR_BACKOFF_S)
            pause_s = ERROR_BACKOFF_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause_s or 0.001)
