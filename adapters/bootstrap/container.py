"""The composition root: the one place that builds infrastructure.

Nothing here runs at import time; `build` wires a container from settings and
`close` releases what it opened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from adapters.bootstrap.crm import Crm, build_crm
from adapters.bootstrap.identity import Identity, build_identity
from adapters.clock import SystemClock
from adapters.config.settings import Settings, eventsourcing_env
from adapters.eventstore.factory import LedgerPostgresFactory
from adapters.eventstore.unprojected import UnprojectedMessages
from adapters.postgres.billing.invoices import PostgresInvoices
from adapters.postgres.billing.payments import PostgresBillingStore, PostgresPolicyPositions
from adapters.postgres.contacts.opt_outs import PostgresOptOuts
from adapters.postgres.dispatch import PostgresReceiptIndex, PostgresReplyRoutes
from adapters.postgres.identity.accounts import PostgresAccounts
from adapters.postgres.migrations import migrate
from adapters.postgres.pools import FailFastPool
from adapters.postgres.settings.sender_ids import PostgresSenderIds
from adapters.postgres.settings.surface_settings import (
    PostgresNotificationSettings,
    PostgresSandboxResets,
)
from adapters.postgres.settings.templates import PostgresTemplates
from adapters.pricing.loader import load_rate_book
from adapters.stripe.gateway import StripeGateway
from adapters.webhooks.ssrf import SystemResolver, UrlGuard
from application.billing.auto_topup import AutoTopUp
from application.billing.invoices import InvoiceService
from application.billing.payment_notifications import PaymentNotifications
from application.billing.payments import BillingService, CheckoutLimits
from application.billing.ports import PaymentGateway
from application.delivery.inbound import InboundService
from application.delivery.outcomes import OutcomeService
from application.delivery.receipts import ReceiptProcessor
from application.identity.api_keys import ApiKeyService
from application.ledger.app import LedgerApplication
from application.ledger.verification import LedgerVerifier
from application.ledger.wallets import WalletService
from application.sending.estimate import Estimator
from application.sending.resolution import SendResolver
from application.sending.sandbox import SandboxService
from application.sending.send import MessagingService
from application.settings.notifications import NotificationService
from application.settings.sender_ids import SenderIdService
from application.settings.templates import TemplateService

log = logging.getLogger(__name__)

CONFIG_POOL_SIZE = 4


@dataclass
class Container:
    settings: Settings
    database_url: str
    nats_url: str | None
    app: LedgerApplication
    pool: ConnectionPool
    accounts: PostgresAccounts
    messaging: MessagingService
    wallets: WalletService
    outcomes: OutcomeService
    verifier: LedgerVerifier
    opt_outs: PostgresOptOuts
    inbound: InboundService
    receipts: ReceiptProcessor
    estimator: Estimator
    identity: Identity
    sender_ids: SenderIdService
    templates: TemplateService
    send_resolver: SendResolver
    notifications: NotificationService
    sandbox: SandboxService
    billing: BillingService
    payment_notifications: PaymentNotifications
    auto_topup: AutoTopUp
    invoices: InvoiceService
    crm: Crm
    unprojected: UnprojectedMessages
    webhook_guard: UrlGuard = field(default_factory=lambda: UrlGuard(SystemResolver()))
    _closed: bool = field(default=False, repr=False)

    def database_pools(self) -> list[ConnectionPool[Any]]:
        """The pools requests use: the configuration tables' and the event
        store's (which the library builds)."""
        factory = self.app.factory
        if isinstance(factory, LedgerPostgresFactory):
            return [self.pool, factory.datastore.pool]
        return [self.pool]

    @property
    def api_key_service(self) -> ApiKeyService:
        return ApiKeyService(self.accounts.keys)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.pool.close()
        self.app.close()


def migrate_database(database_url: str) -> list[int]:
    """Create the event store tables and apply our migrations; idempotent."""
    env = eventsourcing_env(database_url, pool_size=1)
    env["CREATE_TABLE"] = "yes"
    LedgerApplication(env).close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        return migrate(conn)


def build(settings: Settings, database_url: str, nats_url: str | None = None) -> Container:
    app = LedgerApplication(
        eventsourcing_env(database_url, pool_size=settings.db_pool_size),
        wallet_cache_size=settings.wallet_cache_size,
        group_commit_max=settings.group_commit_max,
    )
    pool = FailFastPool(
        database_url,
        min_size=1,
        max_size=max(CONFIG_POOL_SIZE, settings.db_pool_size),
        kwargs={"autocommit": True},
        open=True,
        name="smsledger-config",
    )
    accounts = PostgresAccounts(pool)
    rates = load_rate_book(settings.rate_card_path)
    opt_outs = PostgresOptOuts(pool)
    outcomes = OutcomeService(app)
    messaging = MessagingService(app, accounts, rates, opt_outs)
    wallets = WalletService(app)
    sender_ids = SenderIdService(PostgresSenderIds(pool))
    templates = TemplateService(PostgresTemplates(pool))
    billing_store = PostgresBillingStore(pool)
    gateway = build_payment_gateway(settings)
    billing = BillingService(
        app, wallets, accounts, billing_store, gateway,
        CheckoutLimits(settings.billing.topup_min_minor, settings.billing.topup_max_minor),
    )
    return Container(
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        app=app,
        pool=pool,
        accounts=accounts,
        messaging=messaging,
        wallets=wallets,
        outcomes=outcomes,
        verifier=LedgerVerifier(app),
        opt_outs=opt_outs,
        inbound=InboundService(app, PostgresReplyRoutes(pool), opt_outs),
        receipts=ReceiptProcessor(outcomes, PostgresReceiptIndex(pool), SystemClock()),
        estimator=Estimator(messaging, accounts, wallets),
        identity=build_identity(
            settings.identity, pool, wallets, accounts, settings.password_reset_url()),
        sender_ids=sender_ids,
        templates=templates,
        send_resolver=SendResolver(sender_ids, templates),
        notifications=NotificationService(PostgresNotificationSettings(pool)),
        sandbox=SandboxService(
            app, accounts, wallets, PostgresSandboxResets(pool),
            refill_micros=settings.sandbox_refill_micros,
        ),
        webhook_guard=UrlGuard(SystemResolver(), settings.webhooks.allow_hosts),
        billing=billing,
        payment_notifications=PaymentNotifications(billing, billing_store),
        auto_topup=AutoTopUp(
            app, billing, billing_store, gateway, PostgresPolicyPositions(pool)
        ),
        invoices=InvoiceService(app, PostgresInvoices(pool)),
        crm=build_crm(app, pool, accounts, opt_outs, messaging, outcomes),
        unprojected=UnprojectedMessages(
            app.recorder.events_table_name, app.mapper  # type: ignore[attr-defined]
        ),
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
