"""The composition root: the one place that builds infrastructure.

Nothing here runs at import time; `build` wires a container from settings and
`close` releases what it opened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg
from psycopg_pool import ConnectionPool

from adapters.clock import SystemClock
from adapters.config import Settings, eventsourcing_env
from adapters.postgres.accounts import PostgresAccounts
from adapters.postgres.dispatch import PostgresReceiptIndex
from adapters.postgres.migrations import migrate
from adapters.postgres.opt_outs import MessageLogRouter, PostgresOptOuts
from adapters.pricing.loader import load_rate_book
from application.estimating import Estimator
from application.inbound import InboundService
from application.ledger_app import LedgerApplication
from application.outcomes import OutcomeService
from application.receipts import ReceiptProcessor
from application.sending import MessagingService
from application.verification import LedgerVerifier
from application.wallets import WalletService

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
    _closed: bool = field(default=False, repr=False)

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
    pool = ConnectionPool(
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
        inbound=InboundService(app, MessageLogRouter(pool), opt_outs),
        receipts=ReceiptProcessor(outcomes, PostgresReceiptIndex(pool), SystemClock()),
        estimator=Estimator(messaging, accounts, wallets),
    )
