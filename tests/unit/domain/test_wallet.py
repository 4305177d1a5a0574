from uuid import uuid4

import pytest

from domain import ledger
from domain.errors import InsufficientBalance, InvalidAmount, UnknownReservation
from domain.settlement import SettlementItem
from domain.wallet import TopUpSource, Wallet, verify_entry


def new_wallet(credit_limit_micros: int = 0) -> Wallet:
    return Wallet.open(uuid4(), "acct-1", "GBP", credit_limit_micros=credit_limit_micros)


def replay(wallet: Wallet) -> Wallet:
    replayed = None
    for event in wallet.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    return replayed


def test_top_up_credits_balance_with_balanced_postings() -> None:
    wallet = new_wallet()
    wallet.top_up(5_000_000, TopUpSource.STRIPE, "cs_1")
    event = wallet.pending_events[-1]
    assert isinstance(event, Wallet.ToppedUp)
    assert ledger.postings_balance(event.postings) == 0
    assert dict(event.postings) == {"clearing:stripe": -5_000_000, "wallet:acct-1": 5_000_000}
    assert (wallet.balance_micros, wallet.available_micros) == (5_000_000, 5_000_000)


def test_reserve_refuses_more_than_available_with_numbers() -> None:
    wallet = new_wallet(credit_limit_micros=1_000_000)
    wallet.top_up(2_000_000, TopUpSource.BONUS, "welcome")
    with pytest.raises(InsufficientBalance) as refused:
        wallet.reserve("r1", 3_000_001, "msg")
    assert refused.value.details["required"] == 3_000_001
    assert refused.value.details["available"] == 3_000_000
    wallet.reserve("r1", 3_000_000, "msg")  # exactly available, using the credit
    assert wallet.available_micros == 0
    assert wallet.balance_micros == 2_000_000
    assert wallet.reserved_micros == 3_000_000


def test_settle_captures_and_releases_in_one_entry() -> None:
    wallet = new_wallet()
    wallet.top_up(1_000_000, TopUpSource.STRIPE, "cs_1")
    wallet.reserve("batch", 300_000, "batch")
    wallet.settle([
        SettlementItem("batch", uuid4(), 100_000, 0),
        SettlementItem("batch", uuid4(), 0, 100_000),
    ])
    event = wallet.pending_events[-1]
    assert isinstance(event, Wallet.ReservationsSettled)
    assert (event.captured_micros, event.released_micros) == (100_000, 100_000)
    assert wallet.holds == {"batch": 100_000}
    assert wallet.balance_micros == 900_000
    assert wallet.reserved_micros == 100_000
    assert wallet.available_micros == 800_000


def test_settle_cannot_exceed_the_hold() -> None:
    wallet = new_wallet()
    wallet.top_up(1_000_000, TopUpSource.STRIPE, "cs_1")
    wallet.reserve("r", 100_000, "m")
    with pytest.raises(UnknownReservation):
        wallet.settle(
            [SettlementItem("r", uuid4(), 60_000, 0), SettlementItem("r", uuid4(), 60_000, 0)]
        )
    with pytest.raises(UnknownReservation):
        wallet.settle([SettlementItem("nope", uuid4(), 1, 0)])


def test_adjust_both_ways_and_refuses_zero() -> None:
    wallet = new_wallet()
    wallet.adjust(500_000, "goodwill", "ticket-1")
    wallet.adjust(-200_000, "correction", "ticket-2")
    assert wallet.balance_micros == 300_000
    with pytest.raises(InvalidAmount):
        wallet.adjust(0, "nothing", "x")


def test_amounts_must_be_positive_integers() -> None:
    wallet = new_wallet()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InvalidAmount):
            wallet.top_up(bad, TopUpSource.STRIPE, "x")  # type: ignore[arg-type]


def test_hash_chain_verifies_and_detects_tampering() -> None:
    wallet = new_wallet()
    wallet.top_up(1_000_000, TopUpSource.STRIPE, "a")
    wallet.reserve("r", 10_000, "m")
    events = [e for e in wallet.collect_events() if isinstance(e, Wallet.MoneyMoved)]
    previous = ledger.GENESIS_HASH
    for event in events:
        assert verify_entry(previous, event)
        previous = event.entry_hash
    tampered = object.__new__(type(events[0]))
    object.__setattr__(tampered, "__dict__", {**vars(events[0]), "amount_micros": 2_000_000})
    assert not verify_entry(ledger.GENESIS_HASH, tampered)


def test_replay_equals_live_state() -> None:
    wallet = new_wallet(credit_limit_micros=50_000)
    wallet.top_up(1_000_000, TopUpSource.STRIPE, "a")
    wallet.reserve("r", 400_000, "m")
    wallet.settle([SettlementItem("r", uuid4(), 150_000, 50_000)])
    wallet.change_credit_limit(0)
    wallet.change_low_balance_threshold(10_000)
    live = dict(vars(wallet))
    replayed = replay(wallet)
    live.pop("_pending_events")
    assert {k: v for k, v in vars(replayed).items() if k != "_pending_events"} == live
