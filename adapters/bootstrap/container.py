"""The container: every service a process role uses, built once per process
over the infrastructure (adapters/bootstrap/infrastructure.py), with the
sections of sign-in, billing and the contact base and campaigns built by
their own modules.

Nothing here runs at import time; `build` wires a container from settings and
`close` releases what it opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import ConnectionPool

from adapters.bootstrap.billing import build_billing
from adapters.bootstrap.campaigns import Crm, build_crm
from adapters.bootstrap.identity import Identity, build_identity
from adapters.bootstrap.infrastructure import open_config_pool, open_ledger
from adapters.clock import SystemClock
from adapters.config.settings import Settings
from adapters.eventstore.factory import LedgerPostgresFactory
from adapters.eventstore.unprojected import UnprojectedMessages
from adapters.postgres.contacts.opt_outs import PostgresOptOuts
from adapters.postgres.dispatch import PostgresReceiptIndex, PostgresReplyRoutes
from adapters.postgres.identity.accounts import PostgresAccounts
from adapters.postgres.settings.sender_ids import PostgresSenderIds
from adapters.postgres.settings.surface_settings import (
    PostgresNotificationSettings,
    PostgresSandboxResets,
)
from adapters.postgres.settings.templates import PostgresTemplates
from adapters.pricing.loader import load_rate_book
from adapters.webhooks.ssrf import SystemResolver, UrlGuard
from application.billing.auto_topup import AutoTopUp
from application.billing.invoices import InvoiceService
from application.billing.payment_notifications import PaymentNotifications
from application.billing.payments import BillingService
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


def build(settings: Settings, database_url: str, nats_url: str | None = None) -> Container:
    """Every service of a process, each built once, over one ledger
    application and one configuration pool."""
    app = open_ledger(settings, database_url)
    pool = open_config_pool(settings, database_url)
    accounts = PostgresAccounts(pool)
    opt_outs = PostgresOptOuts(pool)
    outcomes = OutcomeService(app)
    messaging = MessagingService(app, accounts, load_rate_book(settings.rate_card_path), opt_outs)
    wallets = WalletService(app)
    sender_ids = SenderIdService(PostgresSenderIds(pool))
    templates = TemplateService(PostgresTemplates(pool))
    billing = build_billing(settings, app, pool, wallets, accounts)
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
        billing=billing.payments,
        payment_notifications=billing.payment_notifications,
        auto_topup=billing.auto_topup,
        invoices=billing.invoices,
        crm=build_crm(app, pool, accounts, opt_outs, messaging, outcomes),
        unprojected=UnprojectedMessages(
            app.recorder.events_table_name, app.mapper  # type: ignore[attr-defined]
        ),
    )
