"""Wallet transactions: types, signs, and a running balance that is the ledger's."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.settlement import SettlementItem
from domain.wallet import TopUpSource, Wallet
from projections.wallet_transactions import WalletTransactions, list_transactions
from tests.support.projections import apply, new_account, record

TRANSACTIONS = WalletTransactions()


def _busy_wallet(account, *, sandbox=False):
    wallet = Wallet.open(uuid4(), account, "GBP", sandbox=sandbox)
    wallet.top_up(10_000_000, TopUpSource.STRIPE, "cs_1")
    wallet.top_up(1_000_000, TopUpSource.BONUS, "welcome")
    wallet.top_up(500_000, TopUpSource.ADJUSTMENT, "fix-1")
    wallet.reserve("batch-1", 300_000, "batch:1")
    wallet.settle([
        SettlementItem("batch-1", uuid4(), 100_000, 0),
        SettlementItem("batch-1", uuid4(), 0, 100_000),
        SettlementItem("batch-1", uuid4(), 100_000, 0),
    ])
    wallet.adjust(-50_000, "goodwill reversal", "T-1")
    wallet.reserve("m-2", 40_000, "message:m-2")
    wallet.settle([SettlementItem("m-2", uuid4(), 40_000, 0)])
    wallet.reserve("m-3", 25_000, "message:m-3")
    wallet.settle([SettlementItem("m-3", uuid4(), 0, 25_000)])
    wallet.reserve("m-4", 10_000, "message:m-4")  # still held
    return wallet


def _all_lines(conn, account, **filters):
    lines, token = [], None
    while True:
        with conn.cursor() as cursor:
            rows, token, has_more, total = list_transactions(
                cursor, account, page_size=2, cursor_token=token, **filters
            )
        lines += rows
        if not has_more:
            assert len(lines) == total
            return lines


@pytest.mark.parametrize("batch_size", [None, 1, 3])
def test_types_signs_and_running_balance(conn, batch_size):
    account = new_account()
    wallet = _busy_wallet(account)
    envelopes = record(wallet)
    apply(conn, TRANSACTIONS, envelopes, batch_size)
    lines = list(reversed(_all_lines(conn, account)))  # oldest first
    assert [(line["type"], line["amount_micros"], line["balance_change_micros"])
            for line in lines] == [
        ("PURCHASE", 10_000_000, 10_000_000),
        ("BONUS", 1_000_000, 1_000_000),
        ("ADJUSTMENT", 500_000, 500_000),
        ("RESERVATION", -300_000, 0),
        ("USAGE", -200_000, -200_000),
        ("REFUND", 100_000, 0),
        ("ADJUSTMENT", -50_000, -50_000),
        ("RESERVATION", -40_000, 0),
        ("USAGE", -40_000, -40_000),
        ("RESERVATION", -25_000, 0),
        ("REFUND", 25_000, 0),
        ("RESERVATION", -10_000, 0),
    ]
    # The running figures are the sums of the ledger postings so far.
    own = (f"wallet:{account}", f"holds:{account}")
    by_event = {}
    balance = reserved = 0
    for envelope in envelopes:
        for ledger_account, amount in envelope.data.get("postings", ()):
            balance += amount if ledger_account in own else 0
            reserved += amount if ledger_account == own[1] else 0
        by_event[envelope.id] = (balance, reserved)
    for line in lines:
        last_line_of_event = not any(
            other["event_id"] == line["event_id"] and other["line"] > line["line"]
            for other in lines
        )
        if last_line_of_event:
            assert (line["balance_micros"], line["reserved_micros"]) == by_event[line["event_id"]]
        assert line["balance_micros"] >= line["reserved_micros"] >= 0
    assert sum(line["balance_change_micros"] for line in lines) == balance
    assert (lines[-1]["balance_micros"], lines[-1]["reserved_micros"]) == (
        wallet.balance_micros, wallet.reserved_micros
    )
    usage = lines[4]
    assert (usage["balance_micros"], usage["reserved_micros"]) == (11_300_000, 100_000)
    assert usage["reference"] == "batch-1" and usage["id"] == f"{usage['event_id']}-0"
    assert lines[5]["id"] == f"{usage['event_id']}-1"
    assert lines[0]["reference"] == "cs_1" and lines[6]["description"] == "goodwill reversal"
    assert lines[0]["wallet_id"] == str(wallet.id) and lines[0]["currency"] == "GBP"


def test_filters_sandbox_and_order(conn):
    account = new_account()
    live, sandbox = _busy_wallet(account), _busy_wallet(account, sandbox=True)
    apply(conn, TRANSACTIONS, record(live) + record(sandbox))
    live_lines = _all_lines(conn, account)
    sandbox_lines = _all_lines(conn, account, sandbox=True)
    assert len(live_lines) == len(sandbox_lines) == 12
    assert {line["sandbox"] for line in sandbox_lines} == {True}
    assert {line["wallet_id"] for line in live_lines} == {str(live.id)}
    keys = [(line["event_id"], line["line"]) for line in live_lines]
    assert keys == sorted(keys, reverse=True)
    usage = _all_lines(conn, account, type="USAGE")
    assert [line["amount_micros"] for line in usage] == [-40_000, -200_000]
    when = live_lines[-1]["occurred_at"]
    assert len(_all_lines(conn, account, from_date=when, to_date=when)) >= 1
    with conn.cursor() as cursor, pytest.raises(ValueError):
        list_transactions(cursor, account, type="GIFT")
    assert _all_lines(conn, new_account()) == []


def test_card_refund_is_a_refund_line_that_moves_the_balance(conn):
    account = new_account()
    wallet = Wallet.open(uuid4(), account, "GBP")
    wallet.top_up(5_000_000, TopUpSource.STRIPE, "cs_9")
    wallet.refund("ch_9", 2_000_000)
    wallet.refund("ch_9", 2_000_000)  # a repeated notice moves nothing
    wallet.open_dispute("dp_9", "ch_9", 3_000_000, "fraudulent")  # not a money line
    apply(conn, TRANSACTIONS, record(wallet))
    lines = list(reversed(_all_lines(conn, account)))
    assert [(line["type"], line["amount_micros"], line["balance_change_micros"],
             line["balance_micros"], line["reference"]) for line in lines] == [
        ("PURCHASE", 5_000_000, 5_000_000, 5_000_000, "cs_9"),
        ("REFUND", -2_000_000, -2_000_000, 3_000_000, "ch_9"),
    ]
    assert _all_lines(conn, account, type="REFUND")[0]["description"] == "Card payment refunded"
