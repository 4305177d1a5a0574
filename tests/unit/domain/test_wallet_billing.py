"""The wallet's billing rules: refunds, disputes, alerts and auto top-up."""

from uuid import uuid4

import pytest

from domain import ledger
from domain.errors import AccountFrozen, InvalidAmount
from domain.settlement import SettlementItem
from domain.wallet import TopUpSource, Wallet, verify_entry


def funded(amount_micros: int = 10_000_000, **kwargs: int) -> Wallet:
    wallet = Wallet.open(uuid4(), "acct-1", "GBP", **kwargs)
    wallet.top_up(amount_micros, TopUpSource.STRIPE, "cs_1")
    wallet.collect_events()
    return wallet


def of_type(wallet: Wallet, kind: type) -> list[object]:
    return [e for e in wallet.pending_events if isinstance(e, kind)]


def test_refund_debits_the_cumulative_increase_once() -> None:
    wallet = funded()
    assert wallet.refund("ch_1", 2_000_000)
    assert not wallet.refund("ch_1", 2_000_000)  # repeated notice
    assert wallet.refund("ch_1", 3_000_000)  # a second partial refund
    assert not wallet.refund("ch_1", 2_000_000)  # an older notice, late
    refunds = of_type(wallet, Wallet.Refunded)
    assert [r.amount_micros for r in refunds] == [2_000_000, 1_000_000]  # type: ignore[attr-defined]
    assert wallet.balance_micros == 7_000_000
    assert dict(refunds[0].postings) == {  # type: ignore[attr-defined]
        "wallet:acct-1": -2_000_000, ledger.CLEARING_STRIPE: 2_000_000}


def test_refund_beyond_the_credit_limit_flags_until_topped_up() -> None:
    wallet = funded(1_000_000, credit_limit_micros=500_000)
    wallet.refund("ch_1", 1_400_000)  # -400,000: within the credit limit
    assert not wallet.flagged
    wallet.refund("ch_1", 1_600_000)  # -600,000: 100,000 beyond it
    assert wallet.flagged and wallet.available_micros == -100_000
    assert len(of_type(wallet, Wallet.Flagged)) == 1
    wallet.top_up(100_000, TopUpSource.STRIPE, "cs_2")
    assert not wallet.flagged
    assert len(of_type(wallet, Wallet.Unflagged)) == 1


def test_dispute_freezes_sending_until_resolved() -> None:
    wallet = funded()
    assert wallet.open_dispute("dp_1", "ch_1", 1_000_000, "fraudulent")
    assert not wallet.open_dispute("dp_1", "ch_1", 1_000_000, "fraudulent")
    with pytest.raises(AccountFrozen) as frozen:
        wallet.reserve("r1", 1, "m")
    assert frozen.value.code == "ACCOUNT_FROZEN"
    with pytest.raises(InvalidAmount):
        wallet.resolve_dispute("dp_1", "maybe", "")
    wallet.resolve_dispute("dp_1", "won", "evidence accepted")
    wallet.reserve("r1", 1, "m")
    assert not wallet.frozen


def test_low_balance_crossed_once_per_crossing_and_rearmed_above() -> None:
    wallet = funded(1_000_000, low_balance_threshold_micros=500_000)
    for index in range(10):
        wallet.reserve(f"r{index}", 100_000, "m")  # 900k, 800k, ... 0
    crossings = of_type(wallet, Wallet.LowBalanceCrossed)
    assert len(crossings) == 1
    assert crossings[0].available_micros == 400_000  # type: ignore[attr-defined]
    # Released back above the threshold, then below again: a second crossing.
    wallet.settle([SettlementItem(f"r{i}", uuid4(), 0, 100_000) for i in range(6)])
    wallet.reserve("again", 200_000, "m")
    assert len(of_type(wallet, Wallet.LowBalanceCrossed)) == 2


def test_auto_topup_requested_once_while_in_flight_and_disabled_after_three_failures() -> None:
    wallet = funded(1_000_000)
    wallet.configure_auto_topup(enabled=True, threshold_micros=800_000, amount_micros=5_000_000)
    for index in range(5):
        wallet.reserve(f"r{index}", 100_000, "m")
    requests = of_type(wallet, Wallet.AutoTopUpRequested)
    assert len(requests) == 1 and wallet.auto_topup_in_flight
    for attempt in range(3):
        wallet.record_auto_topup(wallet.version, payment_ref="", failure="card_declined")
        assert not wallet.auto_topup_in_flight
        wallet.reserve(f"x{attempt}", 1, "m")  # asks again while enabled
    assert wallet.auto_topup_failures == 3 and not wallet.auto_topup_enabled
    assert len(of_type(wallet, Wallet.AutoTopUpRequested)) == 3
    assert len(of_type(wallet, Wallet.AutoTopUpFailed)) == 3
    # Each failure is told to the customer as a low balance.
    assert len(of_type(wallet, Wallet.LowBalanceCrossed)) == 3


def test_billing_events_replay_and_keep_the_hash_chain() -> None:
    wallet = Wallet.open(uuid4(), "acct-1", "GBP", credit_limit_micros=100_000,
                         low_balance_threshold_micros=300_000)
    wallet.top_up(1_000_000, TopUpSource.STRIPE, "cs_1")
    wallet.configure_auto_topup(enabled=True, threshold_micros=200_000, amount_micros=1_000_000)
    wallet.reserve("r", 900_000, "m")
    wallet.refund("ch_1", 300_000)
    wallet.open_dispute("dp_1", "ch_1", 1_000_000, "fraudulent")
    wallet.record_auto_topup(wallet.version, payment_ref="pi_1")
    events = wallet.collect_events()
    replayed = None
    previous = ledger.GENESIS_HASH
    for event in events:
        if isinstance(event, Wallet.MoneyMoved):
            assert ledger.postings_balance(event.postings) == 0
            assert verify_entry(previous, event)
            previous = event.entry_hash
        replayed = event.mutate(replayed)
    assert replayed is not None
    for name in ("balance_micros", "reserved_micros", "flagged", "open_disputes",
                 "refunded_by_charge", "auto_topup_enabled", "auto_topup_in_flight",
                 "last_entry_hash"):
        assert getattr(replayed, name) == getattr(wallet, name), name
    assert wallet.flagged  # 1,000,000 - 300,000 refunded - 900,000 held + 100,000 credit < 0
