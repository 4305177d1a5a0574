"""ledger verify over the billing events, on the library's in-memory store."""

from uuid import uuid4

from adapters.config.settings import in_memory_eventsourcing_env
from application.ledger.app import LedgerApplication
from application.ledger.verification import LedgerVerifier
from domain.wallet import TopUpSource, Wallet


def test_verify_passes_billing_events_and_reports_a_payment_credited_twice() -> None:
    app = LedgerApplication(in_memory_eventsourcing_env())
    good = Wallet.open(uuid4(), "acct-good", "GBP", low_balance_threshold_micros=500_000)
    good.top_up(1_000_000, TopUpSource.STRIPE, "cs_1")
    good.configure_auto_topup(enabled=True, threshold_micros=100_000, amount_micros=1_000_000)
    good.reserve("r1", 950_000, "m")
    good.refund("ch_1", 200_000)
    good.open_dispute("dp_1", "ch_1", 1_000_000, "fraudulent")
    app.record(good)
    twice = Wallet.open(uuid4(), "acct-twice", "GBP")
    twice.top_up(1_000_000, TopUpSource.STRIPE, "cs_twice")
    twice.top_up(1_000_000, TopUpSource.STRIPE, "cs_twice")
    app.record(twice)
    report = LedgerVerifier(app).verify()
    assert report.wallets == 2 and report.entries == 5
    assert report.problems == [f"wallet {twice.id} v3: stripe cs_twice credited twice"]
