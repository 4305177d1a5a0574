"""Application cases that must hold on every recorder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from application.delivery.outcomes import Outcome, OutcomeKind
from application.errors import ValidationFailed
from application.sending.send import BulkRecipient, SendBulk, SendMessage
from domain.errors import InsufficientBalance, InvalidPhoneNumber, MessageTooLong
from domain.messaging.status import MessageStatus
from domain.wallet import TopUpSource
from tests.contract.conftest import Ledger

GB_PRICE_MICROS = None  # read from the card in each test


def account() -> str:
    return f"acct-{uuid4()}"


def gb_price(ledger: Ledger) -> int:
    return ledger.messaging._rates.card("GBP").price_per_segment_micros("GB")


def test_send_reserves_the_price_and_queues(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=1_000_000)
    sent = ledger.messaging.send(SendMessage(acct, "07700900123", "Acme", "Hi {{name}}",
                                             {"name": "Ann"}, client_ref="r1"))
    assert sent.status == "queued"
    assert sent.destination == "+447700900123"
    assert (sent.segments, sent.encoding) == (1, "GSM-7")
    assert sent.price_micros == gb_price(ledger)
    balance = ledger.wallets.balance(ledger.live_wallet(acct))
    assert balance.balance_micros == 1_000_000
    assert balance.reserved_micros == sent.price_micros
    assert balance.available_micros == 1_000_000 - sent.price_micros
    message = ledger.app.repository.get(sent.message_id)
    assert message.body == "Hi Ann" and message.client_ref == "r1"


def test_send_refusals_carry_codes_and_charge_nothing(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=10_000)
    with pytest.raises(InvalidPhoneNumber):
        ledger.messaging.send(SendMessage(acct, "12ab", "Acme", "hi"))
    with pytest.raises(MessageTooLong):
        ledger.messaging.send(SendMessage(acct, "+447700900123", "Acme", "x" * 1531))
    with pytest.raises(InsufficientBalance) as refused:
        ledger.messaging.send(SendMessage(acct, "+447700900123", "Acme", "hi"))
    assert refused.value.details == {
        "required": gb_price(ledger), "available": 10_000, "currency": "GBP"}
    assert ledger.wallets.balance(ledger.live_wallet(acct)).reserved_micros == 0


def test_bulk_rejects_per_recipient_and_reserves_once(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=5_000_000)
    recipients = [
        BulkRecipient("+447700900001", {"name": "Ann"}),
        BulkRecipient("not a number", {"name": "Bob"}),
        BulkRecipient("+447700900003", {}),  # missing variable
        BulkRecipient("0201234567", {"name": "Kofi"}),  # national, but default is GB
        BulkRecipient("+233201234567", {"name": "Ama"}),
    ]
    accepted = ledger.messaging.send_bulk(SendBulk(acct, recipients, "Acme", "Hi {{name}}"))
    assert accepted.accepted == 2
    assert [(r.index, r.code) for r in accepted.rejections] == [
        (1, "INVALID_PHONE_NUMBER"), (2, "MISSING_VARIABLE"), (3, "INVALID_PHONE_NUMBER")]
    card = ledger.messaging._rates.card("GBP")
    expected = card.price_micros("GB", 1) + card.price_micros("GH", 1)
    assert accepted.cost_micros == expected
    wallet = ledger.app.repository.get(ledger.live_wallet(acct))
    assert wallet.holds == {str(accepted.batch_id): expected}
    campaign = ledger.app.repository.get(accepted.batch_id)
    assert (campaign.status, campaign.accepted, campaign.rejected) == ("running", 2, 3)


def test_bulk_with_no_valid_recipient_is_a_validation_error(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=5_000_000)
    with pytest.raises(ValidationFailed):
        ledger.messaging.send_bulk(SendBulk(acct, [BulkRecipient("x")], "Acme", "hi"))


def test_bulk_insufficient_balance_saves_nothing(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=gb_price(ledger))
    recipients = [BulkRecipient(f"+4477009000{i:02d}") for i in range(2)]
    with pytest.raises(InsufficientBalance):
        ledger.messaging.send_bulk(SendBulk(acct, recipients, "Acme", "hi"))
    balance = ledger.wallets.balance(ledger.live_wallet(acct))
    assert (balance.reserved_micros, balance.version) == (0, 2)


def test_outcomes_settle_in_one_wallet_event_and_duplicates_are_no_ops(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=5_000_000)
    price = gb_price(ledger)
    bulk = ledger.messaging.send_bulk(SendBulk(
        acct, [BulkRecipient(f"+4477009000{i:02d}") for i in range(4)], "Acme", "hi"))
    message_ids = _campaign_message_ids(ledger, acct, bulk.batch_id)
    wallet_version = ledger.wallets.balance(ledger.live_wallet(acct)).version
    outcomes = [
        Outcome(m, OutcomeKind.SUBMITTED, "sim", f"c{i}") for i, m in enumerate(message_ids)
    ]
    outcomes += [
        Outcome(message_ids[0], OutcomeKind.REPORTED, carrier_status="DELIVRD",
                status=MessageStatus.DELIVERED),
        Outcome(message_ids[1], OutcomeKind.REPORTED, carrier_status="UNDELIV",
                status=MessageStatus.FAILED),
        Outcome(message_ids[1], OutcomeKind.REPORTED, carrier_status="UNDELIV",
                status=MessageStatus.FAILED),  # duplicate in the same batch
        Outcome(message_ids[2], OutcomeKind.REJECTED, error_code="88", reason="bad"),
    ]
    result = ledger.outcomes.record(outcomes)
    assert (result.captured_micros, result.released_micros) == (price, 2 * price)
    assert result.ignored == 1
    balance = ledger.wallets.balance(ledger.live_wallet(acct))
    assert balance.version == wallet_version + 1  # one settlement event
    assert balance.reserved_micros == price  # the fourth message is still pending
    assert balance.balance_micros == 5_000_000 - price
    again = ledger.outcomes.record(outcomes[4:])
    assert (again.applied, again.captured_micros, again.released_micros) == (0, 0, 0)
    assert ledger.wallets.balance(ledger.live_wallet(acct)).version == wallet_version + 1
    report = ledger.verifier.verify()
    assert report.ok, report.problems


def test_top_up_is_credited_once_per_reference(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct)
    wallet = ledger.live_wallet(acct)
    first = ledger.wallets.top_up(wallet, 2_000_000, TopUpSource.STRIPE, "cs_test_1")
    second = ledger.wallets.top_up(wallet, 2_000_000, TopUpSource.STRIPE, "cs_test_1")
    assert (first.credited, second.credited) == (True, False)
    assert ledger.wallets.balance(wallet).balance_micros == 2_000_000


def test_balance_as_of_a_past_time(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=1_000_000)
    wallet = ledger.live_wallet(acct)
    between = datetime.now(UTC)
    ledger.wallets.adjust(wallet, 500_000, "goodwill", "t-1")
    assert ledger.wallets.balance_as_of(wallet, between).balance_micros == 1_000_000
    assert ledger.wallets.balance_as_of(wallet, datetime.now(UTC)).balance_micros == 1_500_000
    with pytest.raises(Exception):  # noqa: B017 - NotFound before the wallet existed
        ledger.wallets.balance_as_of(wallet, between - timedelta(days=1))


def test_snapshots_keep_live_equal_to_replay(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=100_000_000)
    for _ in range(120):  # crosses the snapshot interval
        ledger.messaging.send(SendMessage(acct, "+447700900123", "Acme", "hi"))
    wallet_id = ledger.live_wallet(acct)
    ledger.app.forget_wallet(wallet_id)  # next read comes from snapshot + events
    balance = ledger.wallets.balance(wallet_id)
    assert balance.reserved_micros == 120 * gb_price(ledger)
    report = ledger.verifier.verify()
    assert report.ok, report.problems


def _campaign_message_ids(ledger: Ledger, acct: str, batch_id) -> list:
    from eventsourcing.utils import get_topic

    from domain.message import Message

    found = []
    for n in ledger.app.recorder.select_notifications(
        0, 100_000, topics=[get_topic(Message.Accepted)], inclusive_of_start=False
    ):
        event = ledger.app.mapper.to_domain_event(n)
        if event.campaign_id == batch_id:
            found.append(event.originator_id)
    return found


def test_large_bulk_streams_and_rolls_back_whole_when_unaffordable(ledger: Ledger) -> None:
    """Above the streaming threshold the batch reaches the store while it is
    still being prepared; a refusal at the end must leave nothing behind."""
    acct = account()
    price = gb_price(ledger)
    ledger.open_account(acct, credit_micros=299 * price)
    recipients = [BulkRecipient(f"+4477009{i:05d}") for i in range(300)]
    with pytest.raises(InsufficientBalance):
        ledger.messaging.send_bulk(SendBulk(acct, recipients, "Acme", "hi"))
    assert _accepted_count(ledger, acct) == 0
    balance = ledger.wallets.balance(ledger.live_wallet(acct))
    assert (balance.reserved_micros, balance.version) == (0, 2)
    with pytest.raises(ValidationFailed):
        ledger.messaging.send_bulk(SendBulk(acct, [BulkRecipient("bad")] * 300, "Acme", "hi"))
    assert _accepted_count(ledger, acct) == 0

    recipients[7] = BulkRecipient("not a phone")
    accepted = ledger.messaging.send_bulk(SendBulk(acct, recipients, "Acme", "hi"))
    assert (accepted.accepted, [r.index for r in accepted.rejections]) == (299, [7])
    assert accepted.cost_micros == 299 * price
    assert _accepted_count(ledger, acct) == 299
    wallet = ledger.app.repository.get(ledger.live_wallet(acct))
    assert wallet.holds == {str(accepted.batch_id): 299 * price}
    assert wallet.available_micros == 0
    report = ledger.verifier.verify()
    assert report.ok, report.problems


def _accepted_count(ledger: Ledger, acct: str) -> int:
    from eventsourcing.utils import get_topic

    from domain.message import Message

    return sum(
        1
        for n in ledger.app.recorder.select_notifications(
            0, 1_000_000, topics=[get_topic(Message.Accepted)], inclusive_of_start=False
        )
        if ledger.app.mapper.to_domain_event(n).account_id == acct
    )


def test_outcomes_on_a_stale_copy_are_recorded_from_a_fresh_load(ledger: Ledger) -> None:
    acct = account()
    ledger.open_account(acct, credit_micros=1_000_000)
    first = ledger.messaging.send(SendMessage(acct, "+447700900123", "Acme", "a")).message_id
    second = ledger.messaging.send(SendMessage(acct, "+447700900124", "Acme", "b")).message_id
    stale = {m: ledger.app.repository.get(m) for m in (first, second)}
    # `first` moves meanwhile, without touching the wallet: its next version
    # is taken, so the stale copy's event collides on save.
    ledger.outcomes.record([Outcome(first, OutcomeKind.SUBMITTED, "sim", "c1")])
    delivered = dict(carrier_status="DELIVRD", status=MessageStatus.DELIVERED)
    result = ledger.outcomes.record(
        [Outcome(first, OutcomeKind.REPORTED, **delivered),
         Outcome(second, OutcomeKind.REPORTED, **delivered)],
        loaded=stale,
    )
    assert result.applied == 2
    assert [ledger.app.repository.get(m).status for m in (first, second)] == [
        "delivered", "delivered"]
    assert ledger.wallets.balance(ledger.live_wallet(acct)).reserved_micros == 0
    assert ledger.verifier.verify().ok
