"""The prepaid wallet of one account (or of its sandbox).

available = balance - reserved + credit_limit. Money moves only through events
that carry balanced postings and extend the wallet's hash chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypeAlias
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import ledger
from domain import wallet_billing as billing
from domain.errors import (
    DuplicateReservation,
    InsufficientBalance,
    InvalidAmount,
    UnknownReservation,
)
from domain.money import ensure_currency
from domain.settlement import SettlementItem
from domain.wallet_billing import WalletBilling
from domain.wallet_events import (
    MoneyMoved,
    Postings,
    WalletEvent,
    hashed_body_for,
)
from domain.wallet_events import (
    verify_entry as verify_entry,
)

SettlementRow = tuple[str, str, int, int]


class TopUpSource(StrEnum):
    STRIPE = "stripe"
    BONUS = "bonus"
    ADJUSTMENT = "adjustment"


_TOP_UP_CONTRA_ACCOUNT = {
    TopUpSource.STRIPE: ledger.CLEARING_STRIPE,
    TopUpSource.BONUS: ledger.PROMOTIONS,
    TopUpSource.ADJUSTMENT: ledger.ADJUSTMENTS,
}

# Bounds that catch a runaway caller before it writes a silly ledger entry.
MAX_AMOUNT_MICROS = 10**15
MAX_SETTLEMENT_ITEMS = 10_000


class Wallet(WalletBilling, Aggregate):
    class Opened(Aggregate.Created):
        account_id: str
        currency: str
        sandbox: bool
        credit_limit_micros: int
        low_balance_threshold_micros: int

    Event: TypeAlias = WalletEvent
    MoneyMoved: TypeAlias = MoneyMoved

    class ToppedUp(MoneyMoved):
        amount_micros: int
        source: str
        external_ref: str

    class FundsReserved(MoneyMoved):
        reservation_id: str
        amount_micros: int
        reference: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.holds[self.reservation_id] = self.amount_micros

    class ReservationsSettled(MoneyMoved):
        settlements: tuple[SettlementRow, ...]
        captured_micros: int
        released_micros: int

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            holds: dict[str, int] = aggregate.holds
            for reservation_id, _message_id, captured, released in self.settlements:
                remaining = holds[reservation_id] - captured - released
                if remaining == 0:
                    del holds[reservation_id]
                else:
                    holds[reservation_id] = remaining

    class Adjusted(MoneyMoved):
        amount_micros: int
        reason: str
        reference: str

    class CreditLimitChanged(Event):
        credit_limit_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.credit_limit_micros = self.credit_limit_micros

    class LowBalanceThresholdChanged(Event):
        threshold_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.low_balance_threshold_micros = self.threshold_micros

    # Billing events, declared with their rules in domain/wallet_billing.py.
    Refunded = billing.Refunded
    Flagged = billing.Flagged
    Unflagged = billing.Unflagged
    DisputeOpened = billing.DisputeOpened
    DisputeResolved = billing.DisputeResolved
    LowBalanceCrossed = billing.LowBalanceCrossed
    AutoTopUpConfigured = billing.AutoTopUpConfigured
    AutoTopUpRequested = billing.AutoTopUpRequested
    AutoTopUpSucceeded = billing.AutoTopUpSucceeded
    AutoTopUpFailed = billing.AutoTopUpFailed

    def __init__(
        self,
        account_id: str,
        currency: str,
        sandbox: bool,
        credit_limit_micros: int,
        low_balance_threshold_micros: int,
    ) -> None:
        # Every attribute is JSON-native so snapshots round-trip exactly.
        self.account_id = account_id
        self.currency = currency
        self.sandbox = sandbox
        self.credit_limit_micros = credit_limit_micros
        self.low_balance_threshold_micros = low_balance_threshold_micros
        self.free_micros = 0
        self.reserved_micros = 0
        self.holds: dict[str, int] = {}
        self.last_entry_hash = ledger.GENESIS_HASH

    @classmethod
    def open(
        cls,
        wallet_id: UUID,
        account_id: str,
        currency: str,
        *,
        sandbox: bool = False,
        credit_limit_micros: int = 0,
        low_balance_threshold_micros: int = 0,
    ) -> Wallet:
        ensure_currency(currency)
        _check_non_negative("credit_limit_micros", credit_limit_micros)
        _check_non_negative("low_balance_threshold_micros", low_balance_threshold_micros)
        return cls._create(
            cls.Opened,
            id=wallet_id,
            account_id=account_id,
            currency=currency,
            sandbox=sandbox,
            credit_limit_micros=credit_limit_micros,
            low_balance_threshold_micros=low_balance_threshold_micros,
        )

    # Derived figures -------------------------------------------------------

    @property
    def balance_micros(self) -> int:
        """Funds in the wallet, including those held for pending messages."""
        return self.free_micros + self.reserved_micros

    @property
    def available_micros(self) -> int:
        return self.balance_micros - self.reserved_micros + self.credit_limit_micros

    @property
    def wallet_ledger_account(self) -> str:
        return ledger.wallet_account(self.account_id)

    @property
    def holds_ledger_account(self) -> str:
        return ledger.holds_account(self.account_id)

    # Commands --------------------------------------------------------------

    def top_up(self, amount_micros: int, source: TopUpSource, external_ref: str) -> None:
        _check_positive("amount_micros", amount_micros)
        if not external_ref:
            raise InvalidAmount("A top-up needs an external reference")
        postings = ledger.transfer(
            _TOP_UP_CONTRA_ACCOUNT[source], self.wallet_ledger_account, amount_micros
        )
        self._move_money(
            self.ToppedUp,
            postings,
            amount_micros=amount_micros,
            source=str(source),
            external_ref=external_ref,
        )

    def reserve(self, reservation_id: str, amount_micros: int, reference: str) -> None:
        _check_positive("amount_micros", amount_micros)
        self.ensure_can_send()
        if reservation_id in self.holds:
            # A retried request with a derived id reaches here before the
            # store's unique constraint would; refuse it the same way.
            raise DuplicateReservation(
                "This reservation is already held", reservation_id=reservation_id
            )
        if amount_micros > self.available_micros:
            raise InsufficientBalance(
                "Wallet balance too low for this request",
                required=amount_micros,
                available=self.available_micros,
                currency=self.currency,
            )
        postings = ledger.transfer(
            self.wallet_ledger_account, self.holds_ledger_account, amount_micros
        )
        self._move_money(
            self.FundsReserved,
            postings,
            reservation_id=reservation_id,
            amount_micros=amount_micros,
            reference=reference,
        )

    def settle(self, items: Sequence[SettlementItem]) -> None:
        """Capture and release, in one ledger entry, a batch of message outcomes."""
        if not items:
            return
        if len(items) > MAX_SETTLEMENT_ITEMS:
            raise InvalidAmount(
                "Too many settlement items in one batch",
                items=len(items),
                max_items=MAX_SETTLEMENT_ITEMS,
            )
        self._check_settlement_fits(items)
        captured = sum(item.captured_micros for item in items)
        released = sum(item.released_micros for item in items)
        holds, wallet = self.holds_ledger_account, self.wallet_ledger_account
        postings = tuple(
            posting
            for posting in ledger.transfer(holds, ledger.REVENUE_SMS, captured)
            + ledger.transfer(holds, wallet, released)
            if posting[1] != 0
        )
        self._move_money(
            self.ReservationsSettled,
            postings,
            settlements=tuple(
                (i.reservation_id, str(i.message_id), i.captured_micros, i.released_micros)
                for i in items
            ),
            captured_micros=captured,
            released_micros=released,
        )

    def adjust(self, amount_micros: int, reason: str, reference: str) -> None:
        """Credit (positive) or debit (negative) the wallet by a finance decision."""
        if amount_micros == 0 or abs(amount_micros) > MAX_AMOUNT_MICROS:
            raise InvalidAmount("An adjustment moves a non-zero bounded amount")
        if not reason:
            raise InvalidAmount("An adjustment needs a reason")
        if amount_micros > 0:
            postings = ledger.transfer(
                ledger.ADJUSTMENTS, self.wallet_ledger_account, amount_micros
            )
        else:
            postings = ledger.transfer(
                self.wallet_ledger_account, ledger.ADJUSTMENTS, -amount_micros
            )
        self._move_money(
            self.Adjusted, postings, amount_micros=amount_micros, reason=reason,
            reference=reference,
        )

    def change_credit_limit(self, credit_limit_micros: int) -> None:
        # Lowering the limit below what is already used is allowed: it stops
        # further sends, which is what finance wants when it lowers a limit.
        _check_non_negative("credit_limit_micros", credit_limit_micros)
        if credit_limit_micros != self.credit_limit_micros:
            self.trigger_event(self.CreditLimitChanged, credit_limit_micros=credit_limit_micros)

    def change_low_balance_threshold(self, threshold_micros: int) -> None:
        _check_non_negative("threshold_micros", threshold_micros)
        if threshold_micros != self.low_balance_threshold_micros:
            self.trigger_event(self.LowBalanceThresholdChanged, threshold_micros=threshold_micros)

    # Internals -------------------------------------------------------------

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("account_id", self.account_id)
        super().trigger_event(event_class, **kwargs)

    def _check_settlement_fits(self, items: Sequence[SettlementItem]) -> None:
        remaining: dict[str, int] = {}
        for item in items:
            if item.reservation_id not in self.holds:
                raise UnknownReservation(
                    "No such reservation on this wallet",
                    reservation_id=item.reservation_id,
                )
            left = remaining.get(item.reservation_id, self.holds[item.reservation_id])
            left -= item.amount_micros
            if left < 0:
                raise UnknownReservation(
                    "Settlement exceeds what is held for the reservation",
                    reservation_id=item.reservation_id,
                    message_id=str(item.message_id),
                )
            remaining[item.reservation_id] = left

    def _move_money(
        self, event_class: type[MoneyMoved], postings: Postings, **event_fields: Any
    ) -> None:
        assert ledger.postings_balance(postings) == 0, "postings must balance"
        available_before = self.available_micros
        timestamp = self.Event.create_timestamp()
        body = hashed_body_for(
            event_class,
            account_id=self.account_id,
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=timestamp,
            postings=postings,
            **event_fields,
        )
        self.trigger_event(
            event_class,
            timestamp=timestamp,
            postings=postings,
            entry_hash=ledger.chain_hash(self.last_entry_hash, body),
            **event_fields,
        )
        self.watch_balance(available_before)

    def _apply_postings(self, postings: Postings) -> None:
        own_wallet = ledger.wallet_account(self.account_id)
        own_holds = ledger.holds_account(self.account_id)
        for account, amount_micros in postings:
            if account == own_wallet:
                self.free_micros += amount_micros
            elif account == own_holds:
                self.reserved_micros += amount_micros


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_AMOUNT_MICROS:
        raise InvalidAmount(f"{name} must be a positive integer of micros", **{name: value})


def _check_non_negative(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT_MICROS:
        raise InvalidAmount(f"{name} must be a non-negative integer of micros", **{name: value})
