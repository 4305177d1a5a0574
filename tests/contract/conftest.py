"""Contract fixtures: the same application cases on the library's in-memory
recorder and on PostgreSQL through our recorder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from adapters.config.settings import eventsourcing_env, in_memory_eventsourcing_env
from adapters.pricing.loader import load_rate_book
from application.delivery.outcomes import OutcomeService
from application.ledger.app import LedgerApplication
from application.ledger.verification import LedgerVerifier
from application.ledger.wallets import WalletService
from application.ports import AccountProfile
from application.sending.send import MessagingService
from domain import ids
from tests.support.fakes import InMemoryAccounts, InMemoryOptOuts


@dataclass
class Ledger:
    app: LedgerApplication
    accounts: InMemoryAccounts
    messaging: MessagingService
    wallets: WalletService
    outcomes: OutcomeService
    verifier: LedgerVerifier

    def open_account(self, account_id: str, *, credit_micros: int = 0,
                     currency: str = "GBP", country: str | None = "GB") -> AccountProfile:
        from domain.wallet import TopUpSource

        profile = self.accounts.add(AccountProfile(account_id, account_id, currency, country))
        live, _ = self.wallets.open_wallets(account_id, currency)
        if credit_micros:
            self.wallets.top_up(live, credit_micros, TopUpSource.ADJUSTMENT, f"open/{account_id}")
        return profile

    def live_wallet(self, account_id: str):
        return ids.wallet_id(account_id, sandbox=False)


@pytest.fixture(params=["memory", "postgres"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    if request.param == "memory":
        env = in_memory_eventsourcing_env()
    else:
        database_url = request.getfixturevalue("database_url")
        env = eventsourcing_env(database_url, pool_size=4)
    app = LedgerApplication(env)
    accounts = InMemoryAccounts()
    rates = load_rate_book()
    try:
        yield Ledger(
            app=app,
            accounts=accounts,
            messaging=MessagingService(app, accounts, rates, InMemoryOptOuts()),
            wallets=WalletService(app),
            outcomes=OutcomeService(app),
            verifier=LedgerVerifier(app),
        )
    finally:
        app.close()
