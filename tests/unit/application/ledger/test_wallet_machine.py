"""A Hypothesis state machine over a wallet, through the application layer on
the library's in-memory recorder, checked against a plain model and the
ledger verifier after every step."""

from __future__ import annotations

from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from adapters.config.settings import in_memory_eventsourcing_env
from application.errors import Conflict
from application.ledger.app import LedgerApplication
from application.ledger.verification import LedgerVerifier
from application.ledger.wallets import WalletService
from domain import ids
from domain.errors import InsufficientBalance
from domain.settlement import SettlementItem
from domain.wallet import TopUpSource, Wallet

amounts = st.integers(min_value=1, max_value=5_000_000)


class WalletMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = LedgerApplication(in_memory_eventsourcing_env())
        self.wallets = WalletService(self.app)
        self.verifier = LedgerVerifier(self.app)
        self.account_id = f"acct-{uuid4()}"
        self.wallet_id, _ = self.wallets.open_wallets(self.account_id, "GBP")
        self.balance_micros = 0
        self.credit_limit_micros = 0
        self.holds: dict[str, int] = {}
        self.references: list[tuple[str, int]] = []
        self.reservations = 0

    @property
    def reserved_micros(self) -> int:
        return sum(self.holds.values())

    @property
    def available_micros(self) -> int:
        return self.balance_micros - self.reserved_micros + self.credit_limit_micros

    @rule(amount=amounts)
    def top_up(self, amount: int) -> None:
        reference = f"cs_{len(self.references)}"
        result = self.wallets.top_up(self.wallet_id, amount, TopUpSource.STRIPE, reference)
        assert result.credited
        self.references.append((reference, amount))
        self.balance_micros += amount

    @precondition(lambda self: self.references)
    @rule(data=st.data())
    def duplicate_top_up(self, data: st.DataObject) -> None:
        reference, amount = data.draw(st.sampled_from(self.references))
        result = self.wallets.top_up(self.wallet_id, amount, TopUpSource.STRIPE, reference)
        assert not result.credited

    @rule(amount=amounts)
    def reserve(self, amount: int) -> None:
        # Deterministic ids: Hypothesis replays draws against the same state.
        reservation_id = f"r{len(self.references)}-{self.reservations}"
        self.reservations += 1

        def reserve(wallet: Wallet) -> None:
            wallet.reserve(reservation_id, amount, "test")
            self.app.record(wallet)

        try:
            self.app.run_on_wallet(self.wallet_id, reserve)
        except InsufficientBalance as refused:
            assert amount > self.available_micros
            assert refused.details["available"] == self.available_micros
            return
        self.holds[reservation_id] = amount
        assert self.available_micros >= 0

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        chosen = data.draw(st.lists(st.sampled_from(sorted(self.holds)), min_size=1,
                                    max_size=4, unique=True))
        items = []
        for reservation_id in chosen:
            held = self.holds[reservation_id]
            captured = data.draw(st.integers(0, held))
            released = data.draw(st.integers(0, held - captured))
            if captured + released:
                items.append(SettlementItem(reservation_id, uuid4(), captured, released))

        def settle(wallet: Wallet) -> None:
            wallet.settle(items)
            self.app.record(wallet)

        self.app.run_on_wallet(self.wallet_id, settle)
        for item in items:
            self.holds[item.reservation_id] -= item.amount_micros
            self.balance_micros -= item.captured_micros
            if self.holds[item.reservation_id] == 0:
                del self.holds[item.reservation_id]

    @rule(amount=st.integers(-3_000_000, 3_000_000).filter(bool))
    def adjust(self, amount: int) -> None:
        self.wallets.adjust(self.wallet_id, amount, "finance", f"adj-{uuid4()}")
        self.balance_micros += amount

    @rule(limit=st.integers(0, 10_000_000))
    def change_credit_limit(self, limit: int) -> None:
        self.wallets.change_credit_limit(self.wallet_id, limit)
        self.credit_limit_micros = limit

    @rule()
    def reload_from_store(self) -> None:
        self.app.forget_wallet(self.wallet_id)

    @invariant()
    def live_matches_model(self) -> None:
        balance = self.wallets.balance(self.wallet_id)
        assert balance.balance_micros == self.balance_micros
        assert balance.reserved_micros == self.reserved_micros
        assert balance.available_micros == self.available_micros

    @invariant()
    def ledger_verifies(self) -> None:
        report = self.verifier.verify()
        assert report.ok, report.problems

    def teardown(self) -> None:
        self.app.close()


WalletMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWalletMachine = WalletMachine.TestCase


def test_duplicate_top_up_key_is_derived_from_the_reference() -> None:
    wallet = ids.wallet_id("a", sandbox=False)
    assert ids.top_up_receipt_id(wallet, "stripe", "x") == ids.top_up_receipt_id(
        wallet, "stripe", "x")
    assert Conflict.code == "CONFLICT"
