"""A group of commands on one wallet: applied in order, saved in one
transaction, each failing alone; on every recorder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError

from application.errors import Conflict
from application.ledger.app import SNAPSHOT_INTERVAL_EVENTS
from application.ledger.group_commit import CommitFailed, WalletCommand
from domain.errors import DuplicateReservation, InsufficientBalance
from domain.message import Acceptance, Message
from domain.messaging.recipient import Recipient
from domain.wallet import Wallet
from tests.contract.conftest import Ledger

PRICE_MICROS = 40_000


class Boom(RuntimeError):
    pass


def accept(
    account_id: str,
    *,
    amount_micros: int = PRICE_MICROS,
    message_id: UUID | None = None,
    reservation_id: str | None = None,
    fail_after_reserving: bool = False,
) -> WalletCommand:
    """The command a send runs: reserve the price, accept the message."""
    message_id = message_id or uuid4()
    reservation_id = reservation_id or str(message_id)
    recipient = Recipient(message_id, "+447700900123", "GB", "hi", "GSM-7", 1, amount_micros)

    def command(wallet: Wallet) -> Sequence[Aggregate]:
        wallet.reserve(reservation_id, amount_micros, f"message:{message_id}")
        if fail_after_reserving:
            raise Boom("failed after changing the wallet")
        return [Message.accept(recipient, Acceptance(
            account_id=account_id, wallet_id=wallet.id, campaign_id=None,
            reservation_id=reservation_id, sender="Acme", currency=wallet.currency,
            client_ref=None, sandbox=False,
        ))]

    command.message_id = message_id  # type: ignore[attr-defined]
    return command


def open_wallet(ledger: Ledger, credit_micros: int) -> tuple[str, UUID]:
    account_id = f"acct-{uuid4()}"
    ledger.open_account(account_id, credit_micros=credit_micros)
    return account_id, ledger.live_wallet(account_id)


def reservations_saved(ledger: Ledger, wallet_id: UUID) -> list[str]:
    return [
        event.reservation_id
        for event in ledger.app.events.get(wallet_id)
        if isinstance(event, Wallet.FundsReserved)
    ]


def message_saved(ledger: Ledger, message_id: UUID) -> bool:
    return bool(list(ledger.app.events.get(message_id)))


def assert_ledger_verifies(ledger: Ledger, wallet_id: UUID) -> None:
    ledger.app.forget_wallet(wallet_id)
    report = ledger.verifier.verify()
    assert report.ok, report.problems


@pytest.fixture
def insert_calls(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Events per call of the recorder's insert: one call is one transaction."""
    calls: list[int] = []
    real = ledger.app.recorder.insert_events

    def counting(stored_events: Any, **kwargs: Any) -> Any:
        calls.append(len(stored_events))
        return real(stored_events, **kwargs)

    monkeypatch.setattr(ledger.app.recorder, "insert_events", counting)
    return calls


def test_a_group_is_saved_in_order_in_one_transaction(
    ledger: Ledger, insert_calls: list[int]
) -> None:
    account_id, wallet_id = open_wallet(ledger, 1_000_000)
    insert_calls.clear()
    commands = [accept(account_id) for _ in range(5)]
    errors = ledger.app.run_group_on_wallet(wallet_id, commands)
    assert errors == [None] * 5
    assert insert_calls == [10]  # five messages and five reservations, one save
    ids = [str(c.message_id) for c in commands]  # type: ignore[attr-defined]
    assert reservations_saved(ledger, wallet_id) == ids
    assert all(message_saved(ledger, c.message_id) for c in commands)  # type: ignore[attr-defined]
    balance = ledger.wallets.balance(wallet_id)
    assert (balance.balance_micros, balance.reserved_micros) == (1_000_000, 5 * PRICE_MICROS)
    assert_ledger_verifies(ledger, wallet_id)


def test_a_refused_command_fails_alone_and_nothing_goes_beyond_the_credit_limit(
    ledger: Ledger,
) -> None:
    account_id, wallet_id = open_wallet(ledger, 2 * PRICE_MICROS)
    ledger.wallets.change_credit_limit(wallet_id, PRICE_MICROS)
    commands = [
        accept(account_id),
        accept(account_id, amount_micros=5 * PRICE_MICROS),  # more than is available
        accept(account_id),
        accept(account_id),  # uses the credit limit
        accept(account_id),  # nothing left
    ]
    errors = ledger.app.run_group_on_wallet(wallet_id, commands)
    assert [type(e) if e else None for e in errors] == [
        None, InsufficientBalance, None, None, InsufficientBalance]
    saved = [c for c, e in zip(commands, errors, strict=True) if e is None]
    assert reservations_saved(ledger, wallet_id) == [
        str(c.message_id) for c in saved]  # type: ignore[attr-defined]
    assert not message_saved(ledger, commands[1].message_id)  # type: ignore[attr-defined]
    balance = ledger.wallets.balance(wallet_id)
    assert balance.reserved_micros == 3 * PRICE_MICROS
    assert balance.available_micros == 0
    assert balance.balance_micros - balance.reserved_micros == -balance.credit_limit_micros
    assert_ledger_verifies(ledger, wallet_id)


def test_a_command_that_fails_after_changing_the_wallet_leaves_no_trace(
    ledger: Ledger,
) -> None:
    account_id, wallet_id = open_wallet(ledger, 1_000_000)
    commands = [
        accept(account_id),
        accept(account_id, fail_after_reserving=True),
        accept(account_id),
    ]
    errors = ledger.app.run_group_on_wallet(wallet_id, commands)
    assert errors[0] is None and isinstance(errors[1], Boom) and errors[2] is None
    assert reservations_saved(ledger, wallet_id) == [
        str(commands[0].message_id), str(commands[2].message_id)]  # type: ignore[attr-defined]
    assert ledger.wallets.balance(wallet_id).reserved_micros == 2 * PRICE_MICROS
    assert_ledger_verifies(ledger, wallet_id)


def test_the_same_reservation_twice_in_one_group_is_charged_once(ledger: Ledger) -> None:
    account_id, wallet_id = open_wallet(ledger, 1_000_000)
    message_id = uuid4()
    commands = [accept(account_id, message_id=message_id) for _ in range(2)]
    errors = ledger.app.run_group_on_wallet(wallet_id, commands)
    assert errors[0] is None and isinstance(errors[1], DuplicateReservation)
    assert reservations_saved(ledger, wallet_id) == [str(message_id)]
    assert ledger.wallets.balance(wallet_id).reserved_micros == PRICE_MICROS


def test_a_message_already_recorded_fails_alone_with_conflict(ledger: Ledger) -> None:
    """The store's unique constraint stops the group's transaction; each
    command is then committed on its own, so only the repeat fails."""
    account_id, wallet_id = open_wallet(ledger, 1_000_000)
    repeated = uuid4()
    assert ledger.app.run_group_on_wallet(
        wallet_id, [accept(account_id, message_id=repeated)]) == [None]
    commands = [
        accept(account_id),
        # A different reservation, so the wallet lets it through and only
        # the store can tell that the message exists.
        accept(account_id, message_id=repeated, reservation_id=f"again-{repeated}"),
        accept(account_id),
    ]
    errors = ledger.app.run_group_on_wallet(wallet_id, commands)
    assert errors[0] is None and isinstance(errors[1], Conflict) and errors[2] is None
    assert reservations_saved(ledger, wallet_id) == [
        str(repeated), str(commands[0].message_id),  # type: ignore[attr-defined]
        str(commands[2].message_id)]  # type: ignore[attr-defined]
    assert ledger.wallets.balance(wallet_id).reserved_micros == 3 * PRICE_MICROS
    assert_ledger_verifies(ledger, wallet_id)


def test_a_failed_transaction_acknowledges_nothing(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id, wallet_id = open_wallet(ledger, 1_000_000)
    real = ledger.app.recorder.insert_events

    def lost_connection(stored_events: Any, **kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ledger.app.recorder, "insert_events", lost_connection)
    command = accept(account_id)
    with pytest.raises(CommitFailed) as failed:
        ledger.app.run_grouped(wallet_id, command)
    assert isinstance(failed.value.__cause__, OperationalError)
    monkeypatch.setattr(ledger.app.recorder, "insert_events", real)
    # The reservation the failed transaction held was dropped with it.
    assert ledger.wallets.balance(wallet_id).reserved_micros == 0
    assert not message_saved(ledger, command.message_id)  # type: ignore[attr-defined]
    ledger.app.run_grouped(wallet_id, accept(account_id))
    assert ledger.wallets.balance(wallet_id).reserved_micros == PRICE_MICROS
    assert_ledger_verifies(ledger, wallet_id)


def test_a_failed_snapshot_does_not_fail_the_committed_sends(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots are written after the events commit; a failure there must
    not report the committed group as failed."""
    account_id, wallet_id = open_wallet(ledger, 10_000_000)
    assert ledger.app.snapshots is not None

    def snapshot_store_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("snapshot store unavailable")

    monkeypatch.setattr(ledger.app.snapshots, "put", snapshot_store_down)
    # Opening and top-up took 2 versions; 100 more cross the interval.
    commands = [accept(account_id) for _ in range(SNAPSHOT_INTERVAL_EVENTS)]
    errors = ledger.app.run_group_on_wallet(wallet_id, commands)
    assert errors == [None] * len(commands)
    assert len(reservations_saved(ledger, wallet_id)) == len(commands)
    monkeypatch.undo()
    assert_ledger_verifies(ledger, wallet_id)
