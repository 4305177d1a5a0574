"""The prepaid wallet of one account (or of its sandbox), with its billing rules.

available = balance - reserved + credit_limit. Money moves only through events
that carry balanced postings and extend the wallet's hash chain.

Billing rules:
- A refund of a card payment debits the wallet (wallet -> clearing:stripe).
  It is never refused, since the processor has already paid the money back:
  it may take the balance below zero, down to the credit limit, and an
  account taken beyond its credit limit is flagged until it is back above.
- An open dispute freezes sending until an operator resolves it.
- `LowBalanceCrossed` is raised when a debit takes the available balance from
  at or above the threshold to below it: once per crossing, however many
  messages follow below it, and again only after the balance has gone back
  above. Comparing the balance before and after each debit needs no extra
  state, so the check costs the send path one comparison.
- Auto top-up is requested by a debit that leaves the available balance below
  the auto top-up threshold while no earlier request is in flight, so that
  many concurrent sends ask for one top-up. A request stays in flight until
  its outcome is recorded; three failures in a row switch auto top-up off.

Stored events name their class by topic (`module:QualName`). The billing
events and the events' base classes once lived in other modules; the rows
written then keep those topics, listed in `FORMER_TOPICS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import ledger
from domain.errors import (
    AccountFrozen,
    DuplicateReservation,
    InsufficientBalance,
    InvalidAmount,
    UnknownReservation,
)
from domain.money import ensure_currency
from domain.settlement import SettlementItem

SettlementRow = tuple[str, str, int, int]
Postings = tuple[tuple[str, int], ...]


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
MAX_AUTO_TOPUP_FAILURES = 3
MAX_REFERENCE_LENGTH = 255
MAX_FAILURE_REASON_LENGTH = 500


class Wallet(Aggregate):
    class Event(Aggregate.Event):
        # Every event names its account, so that consumers of the published log
        # never have to look an aggregate up to know whose it is.
        account_id: str

    class Opened(Aggregate.Created):
        account_id: str
        currency: str
        sandbox: bool
        credit_limit_micros: int
        low_balance_threshold_micros: int

    # Money events ----------------------------------------------------------

    class MoneyMoved(Event):
        """Base of every event that moves money; never triggered itself."""

        # The type name the entry's hash covers. Stored hashes depend on it, so
        # it is spelled out rather than derived from where the class lives.
        HASHED_TYPE_NAME: ClassVar[str]

        postings: Postings
        entry_hash: str

        def hashed_body(self) -> bytes:
            state = self.__dict__
            body: dict[str, Any] = {name: state[name] for name in _hashed_fields(type(self))}
            body["type"] = self.HASHED_TYPE_NAME
            return ledger.canonical_body(body)

        def apply(self, aggregate: Any) -> None:
            aggregate._apply_postings(self.postings)
            aggregate.last_entry_hash = self.entry_hash

    class ToppedUp(MoneyMoved):
        HASHED_TYPE_NAME = "Wallet.ToppedUp"

        amount_micros: int
        source: str
        external_ref: str

    class FundsReserved(MoneyMoved):
        HASHED_TYPE_NAME = "Wallet.FundsReserved"

        reservation_id: str
        amount_micros: int
        reference: str

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.holds[self.reservation_id] = self.amount_micros

    class ReservationsSettled(MoneyMoved):
        HASHED_TYPE_NAME = "Wallet.ReservationsSettled"

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
        HASHED_TYPE_NAME = "Wallet.Adjusted"

        amount_micros: int
        reason: str
        reference: str

    class Refunded(MoneyMoved):
        """A card payment refunded through the processor: the wallet pays it back."""

        # Declared at module level when the first refunds were hashed.
        HASHED_TYPE_NAME = "Refunded"

        amount_micros: int
        charge_id: str
        refunded_total_micros: int  # the charge's cumulative refund after this one

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.refunded_by_charge = {
                **aggregate.refunded_by_charge,
                self.charge_id: self.refunded_total_micros,
            }

    # Limits ----------------------------------------------------------------

    class CreditLimitChanged(Event):
        credit_limit_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.credit_limit_micros = self.credit_limit_micros

    class LowBalanceThresholdChanged(Event):
        threshold_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.low_balance_threshold_micros = self.threshold_micros

    # Flags, disputes and alerts -------------------------------------------

    class Flagged(Event):
        reason: str
        reference: str

        def apply(self, aggregate: Any) -> None:
            aggregate.flagged = True

    class Unflagged(Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.flagged = False

    class DisputeOpened(Event):
        dispute_id: str
        charge_id: str
        amount_micros: int
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.open_disputes = {
                **aggregate.open_disputes,
                self.dispute_id: self.amount_micros,
            }

    class DisputeResolved(Event):
        dispute_id: str
        outcome: str
        note: str

        def apply(self, aggregate: Any) -> None:
            aggregate.open_disputes = {
                k: v for k, v in aggregate.open_disputes.items() if k != self.dispute_id
            }

    class LowBalanceCrossed(Event):
        available_micros: int
        threshold_micros: int

    # Auto top-up -----------------------------------------------------------

    class AutoTopUpConfigured(Event):
        enabled: bool
        threshold_micros: int
        amount_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.auto_topup_enabled = self.enabled
            aggregate.auto_topup_threshold_micros = self.threshold_micros
            aggregate.auto_topup_amount_micros = self.amount_micros
            aggregate.auto_topup_failures = 0

    class AutoTopUpRequested(Event):
        amount_micros: int
        available_micros: int
        threshold_micros: int

        def apply(self, aggregate: Any) -> None:
            aggregate.auto_topup_in_flight = True

    class AutoTopUpSucceeded(Event):
        request_version: int
        payment_ref: str

        def apply(self, aggregate: Any) -> None:
            aggregate.auto_topup_in_flight = False
            aggregate.auto_topup_failures = 0

    class AutoTopUpFailed(Event):
        request_version: int
        reason: str
        failures: int
        disabled: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.auto_topup_in_flight = False
            aggregate.auto_topup_failures = self.failures
            if self.disabled:
                aggregate.auto_topup_enabled = False

    # State -----------------------------------------------------------------

    # Billing state that wallets opened before it existed lack: read from the
    # class until an event sets it on the instance (and so in snapshots).
    # The dicts are replaced, never changed in place, so the shared defaults
    # stay empty. (Unannotated: an annotation on the aggregate would make
    # the library turn it into a dataclass.)
    flagged = False
    open_disputes = dict[str, int]()
    refunded_by_charge = dict[str, int]()
    auto_topup_enabled = False
    auto_topup_threshold_micros = 0
    auto_topup_amount_micros = 0
    auto_topup_in_flight = False
    auto_topup_failures = 0

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

    @property
    def frozen(self) -> bool:
        return bool(self.open_disputes)

    # Money commands --------------------------------------------------------

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
            self.Adjusted,
            postings,
            amount_micros=amount_micros,
            reason=reason,
            reference=reference,
        )

    def refund(self, charge_id: str, refunded_total_micros: int) -> bool:
        """Debit what the charge's refunds add up to beyond what was already
        debited for it. Stripe reports each charge's cumulative refund, and
        may repeat or reorder its notices: an older or repeated total debits
        nothing (returns False)."""
        _check_reference("charge_id", charge_id)
        _check_non_negative("refunded_total_micros", refunded_total_micros)
        amount_micros = refunded_total_micros - self.refunded_by_charge.get(charge_id, 0)
        if amount_micros <= 0:
            return False
        postings = ledger.transfer(
            self.wallet_ledger_account, ledger.CLEARING_STRIPE, amount_micros
        )
        self._move_money(
            self.Refunded,
            postings,
            amount_micros=amount_micros,
            charge_id=charge_id,
            refunded_total_micros=refunded_total_micros,
        )
        if self.available_micros < 0 and not self.flagged:
            self.trigger_event(
                self.Flagged, reason="refund beyond the credit limit", reference=charge_id
            )
        return True

    # Limits, disputes and auto top-up --------------------------------------

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

    def ensure_can_send(self) -> None:
        if self.open_disputes:
            raise AccountFrozen(
                "Sending is frozen while a payment dispute is open; contact support",
                disputes=sorted(self.open_disputes),
            )

    def open_dispute(
        self, dispute_id: str, charge_id: str, amount_micros: int, reason: str
    ) -> bool:
        _check_reference("dispute_id", dispute_id)
        if dispute_id in self.open_disputes:
            return False
        self.trigger_event(
            self.DisputeOpened,
            dispute_id=dispute_id,
            charge_id=charge_id,
            amount_micros=amount_micros,
            reason=reason[:MAX_REFERENCE_LENGTH],
        )
        return True

    def resolve_dispute(self, dispute_id: str, outcome: str, note: str) -> None:
        if dispute_id not in self.open_disputes:
            raise InvalidAmount("No open dispute with that id", dispute_id=dispute_id)
        if outcome not in ("won", "lost", "withdrawn"):
            raise InvalidAmount("outcome is won, lost or withdrawn", outcome=outcome)
        self.trigger_event(self.DisputeResolved, dispute_id=dispute_id, outcome=outcome, note=note)

    def configure_auto_topup(
        self, *, enabled: bool, threshold_micros: int, amount_micros: int
    ) -> None:
        _check_non_negative("threshold_micros", threshold_micros)
        _check_non_negative("amount_micros", amount_micros)
        if enabled and amount_micros == 0:
            raise InvalidAmount("An auto top-up needs a positive amount")
        self.trigger_event(
            self.AutoTopUpConfigured,
            enabled=enabled,
            threshold_micros=threshold_micros,
            amount_micros=amount_micros,
        )

    def record_auto_topup(
        self, request_version: int, *, payment_ref: str, failure: str = ""
    ) -> None:
        """The outcome of the request saved at `request_version`."""
        if not self.auto_topup_in_flight:
            return  # recorded already, by an earlier run of the policy
        if not failure:
            self.trigger_event(
                self.AutoTopUpSucceeded,
                request_version=request_version,
                payment_ref=payment_ref,
            )
            return
        failures = self.auto_topup_failures + 1
        self.trigger_event(
            self.AutoTopUpFailed,
            request_version=request_version,
            reason=failure[:MAX_FAILURE_REASON_LENGTH],
            failures=failures,
            disabled=failures >= MAX_AUTO_TOPUP_FAILURES,
        )
        # The customer hears of it as a low balance: nothing refilled it.
        self.trigger_event(
            self.LowBalanceCrossed,
            available_micros=self.available_micros,
            threshold_micros=self.auto_topup_threshold_micros,
        )

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
        self, event_class: type[Wallet.MoneyMoved], postings: Postings, **event_fields: Any
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
        self._watch_balance(available_before)

    def _watch_balance(self, available_before: int) -> None:
        """After money moved: raise the alerts and requests a debit calls for,
        and lift a refund's flag once the balance is back within its limit."""
        after = self.available_micros
        if after >= available_before:
            if self.flagged and after >= 0:
                self.trigger_event(self.Unflagged, reason="back within the credit limit")
            return
        threshold = self.low_balance_threshold_micros
        if crosses_threshold(available_before, after, threshold):
            self.trigger_event(
                self.LowBalanceCrossed, available_micros=after, threshold_micros=threshold
            )
        auto_threshold = self.auto_topup_threshold_micros
        if self.auto_topup_enabled and not self.auto_topup_in_flight and after < auto_threshold:
            self.trigger_event(
                self.AutoTopUpRequested,
                amount_micros=self.auto_topup_amount_micros,
                available_micros=after,
                threshold_micros=auto_threshold,
            )

    def _apply_postings(self, postings: Postings) -> None:
        own_wallet = ledger.wallet_account(self.account_id)
        own_holds = ledger.holds_account(self.account_id)
        for account, amount_micros in postings:
            if account == own_wallet:
                self.free_micros += amount_micros
            elif account == own_holds:
                self.reserved_micros += amount_micros


# Ledger entries ---------------------------------------------------------------


@cache
def _hashed_fields(event_class: type[Wallet.MoneyMoved]) -> tuple[str, ...]:
    """The fields an entry's hash covers: all but the hash itself. Looked up
    once per class, since a ledger replay asks for every entry."""
    return tuple(f.name for f in fields(event_class) if f.name != "entry_hash")


def hashed_body_for(event_class: type[Wallet.MoneyMoved], **values: Any) -> bytes:
    """The canonical body of an event not built yet, as `hashed_body` will see it."""
    body = dict(values)
    body["type"] = event_class.HASHED_TYPE_NAME
    return ledger.canonical_body(body)


def verify_entry(previous_hash: str, event: Wallet.MoneyMoved) -> bool:
    """True when the event's hash follows from the previous one and its body."""
    return ledger.chain_hash(previous_hash, event.hashed_body()) == event.entry_hash


def crosses_threshold(available_before: int, available_after: int, threshold: int) -> bool:
    """A debit crossed a (non-zero) threshold: from at or above it to below."""
    return bool(threshold) and available_before >= threshold > available_after


# Stored topics ----------------------------------------------------------------

# Where the moved classes were stored from: `domain.wallet_events` held the
# events' base classes and `domain.wallet_billing` the billing events. The
# event store registers these so that the rows keep loading, and reads that
# select rows by topic ask for them too.
FORMER_TOPICS: Mapping[str, type[Wallet.Event]] = {
    "domain.wallet_events:WalletEvent": Wallet.Event,
    "domain.wallet_events:MoneyMoved": Wallet.MoneyMoved,
    "domain.wallet_billing:Refunded": Wallet.Refunded,
    "domain.wallet_billing:Flagged": Wallet.Flagged,
    "domain.wallet_billing:Unflagged": Wallet.Unflagged,
    "domain.wallet_billing:DisputeOpened": Wallet.DisputeOpened,
    "domain.wallet_billing:DisputeResolved": Wallet.DisputeResolved,
    "domain.wallet_billing:LowBalanceCrossed": Wallet.LowBalanceCrossed,
    "domain.wallet_billing:AutoTopUpConfigured": Wallet.AutoTopUpConfigured,
    "domain.wallet_billing:AutoTopUpRequested": Wallet.AutoTopUpRequested,
    "domain.wallet_billing:AutoTopUpSucceeded": Wallet.AutoTopUpSucceeded,
    "domain.wallet_billing:AutoTopUpFailed": Wallet.AutoTopUpFailed,
}


def former_topics(event_class: type) -> tuple[str, ...]:
    """The topics rows of `event_class` may have been stored under before it moved."""
    return tuple(topic for topic, moved in FORMER_TOPICS.items() if moved is event_class)


# Checks -----------------------------------------------------------------------


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_AMOUNT_MICROS:
        raise InvalidAmount(f"{name} must be a positive integer of micros", **{name: value})


def _check_non_negative(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT_MICROS:
        raise InvalidAmount(f"{name} must be a non-negative integer of micros", **{name: value})


def _check_reference(name: str, value: str) -> None:
    if not value or len(value) > MAX_REFERENCE_LENGTH:
        raise InvalidAmount(f"{name} is 1 to {MAX_REFERENCE_LENGTH} characters", **{name: value})
