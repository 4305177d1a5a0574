"""The wallet's billing rules: card refunds, disputes, the low-balance alert
and auto top-up. `Wallet` mixes these in; the events are nested in it.

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
"""

from __future__ import annotations

from typing import Any, Protocol

from domain import ledger
from domain.errors import AccountFrozen, InvalidAmount
from domain.wallet_events import MoneyMoved, Postings, WalletEvent

MAX_AUTO_TOPUP_FAILURES = 3
MAX_REFERENCE_LENGTH = 255


class Refunded(MoneyMoved):
    """A card payment refunded through the processor: the wallet pays it back."""

    amount_micros: int
    charge_id: str
    refunded_total_micros: int  # the charge's cumulative refund after this one

    def apply(self, aggregate: Any) -> None:
        super().apply(aggregate)
        aggregate.refunded_by_charge = {
            **aggregate.refunded_by_charge, self.charge_id: self.refunded_total_micros
        }


class Flagged(WalletEvent):
    reason: str
    reference: str

    def apply(self, aggregate: Any) -> None:
        aggregate.flagged = True


class Unflagged(WalletEvent):
    reason: str

    def apply(self, aggregate: Any) -> None:
        aggregate.flagged = False


class DisputeOpened(WalletEvent):
    dispute_id: str
    charge_id: str
    amount_micros: int
    reason: str

    def apply(self, aggregate: Any) -> None:
        aggregate.open_disputes = {**aggregate.open_disputes, self.dispute_id: self.amount_micros}


class DisputeResolved(WalletEvent):
    dispute_id: str
    outcome: str
    note: str

    def apply(self, aggregate: Any) -> None:
        aggregate.open_disputes = {
            k: v for k, v in aggregate.open_disputes.items() if k != self.dispute_id
        }


class LowBalanceCrossed(WalletEvent):
    available_micros: int
    threshold_micros: int


class AutoTopUpConfigured(WalletEvent):
    enabled: bool
    threshold_micros: int
    amount_micros: int

    def apply(self, aggregate: Any) -> None:
        aggregate.auto_topup_enabled = self.enabled
        aggregate.auto_topup_threshold_micros = self.threshold_micros
        aggregate.auto_topup_amount_micros = self.amount_micros
        aggregate.auto_topup_failures = 0


class AutoTopUpRequested(WalletEvent):
    amount_micros: int
    available_micros: int
    threshold_micros: int

    def apply(self, aggregate: Any) -> None:
        aggregate.auto_topup_in_flight = True


class AutoTopUpSucceeded(WalletEvent):
    request_version: int
    payment_ref: str

    def apply(self, aggregate: Any) -> None:
        aggregate.auto_topup_in_flight = False
        aggregate.auto_topup_failures = 0


class AutoTopUpFailed(WalletEvent):
    request_version: int
    reason: str
    failures: int
    disabled: bool

    def apply(self, aggregate: Any) -> None:
        aggregate.auto_topup_in_flight = False
        aggregate.auto_topup_failures = self.failures
        if self.disabled:
            aggregate.auto_topup_enabled = False


class _BillingWallet(Protocol):
    """What the rules below use of the wallet they are mixed into."""

    account_id: str
    flagged: bool
    open_disputes: dict[str, int]
    refunded_by_charge: dict[str, int]
    low_balance_threshold_micros: int
    auto_topup_enabled: bool
    auto_topup_threshold_micros: int
    auto_topup_amount_micros: int
    auto_topup_in_flight: bool
    auto_topup_failures: int

    @property
    def available_micros(self) -> int: ...

    @property
    def wallet_ledger_account(self) -> str: ...

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

    def _move_money(
        self, event_class: type[MoneyMoved], postings: Postings, **event_fields: Any
    ) -> None: ...


class WalletBilling:
    # Billing state that wallets opened before it existed lack: read from the
    # class until an event sets it on the instance (and so in snapshots).
    # The dicts are replaced, never changed in place, so the shared defaults
    # stay empty.
    flagged = False
    open_disputes: dict[str, int] = {}
    refunded_by_charge: dict[str, int] = {}
    auto_topup_enabled = False
    auto_topup_threshold_micros = 0
    auto_topup_amount_micros = 0
    auto_topup_in_flight = False
    auto_topup_failures = 0

    @property
    def frozen(self) -> bool:
        return bool(self.open_disputes)

    def ensure_can_send(self: _BillingWallet) -> None:
        if self.open_disputes:
            raise AccountFrozen(
                "Sending is frozen while a payment dispute is open; contact support",
                disputes=sorted(self.open_disputes),
            )

    def refund(self: _BillingWallet, charge_id: str, refunded_total_micros: int) -> bool:
        """Debit what the charge's refunds add up to beyond what was already
        debited for it. Stripe reports each charge's cumulative refund, and
        may repeat or reorder its notices: an older or repeated total debits
        nothing (returns False)."""
        _check_reference("charge_id", charge_id)
        _check_amount("refunded_total_micros", refunded_total_micros)
        amount_micros = refunded_total_micros - self.refunded_by_charge.get(charge_id, 0)
        if amount_micros <= 0:
            return False
        postings = ledger.transfer(
            self.wallet_ledger_account, ledger.CLEARING_STRIPE, amount_micros
        )
        self._move_money(
            Refunded, postings, amount_micros=amount_micros, charge_id=charge_id,
            refunded_total_micros=refunded_total_micros,
        )
        if self.available_micros < 0 and not self.flagged:
            self.trigger_event(
                Flagged, reason="refund beyond the credit limit", reference=charge_id
            )
        return True

    def open_dispute(
        self: _BillingWallet, dispute_id: str, charge_id: str, amount_micros: int, reason: str
    ) -> bool:
        _check_reference("dispute_id", dispute_id)
        if dispute_id in self.open_disputes:
            return False
        self.trigger_event(
            DisputeOpened, dispute_id=dispute_id, charge_id=charge_id,
            amount_micros=amount_micros, reason=reason[:MAX_REFERENCE_LENGTH],
        )
        return True

    def resolve_dispute(self: _BillingWallet, dispute_id: str, outcome: str, note: str) -> None:
        if dispute_id not in self.open_disputes:
            raise InvalidAmount("No open dispute with that id", dispute_id=dispute_id)
        if outcome not in ("won", "lost", "withdrawn"):
            raise InvalidAmount("outcome is won, lost or withdrawn", outcome=outcome)
        self.trigger_event(DisputeResolved, dispute_id=dispute_id, outcome=outcome, note=note)

    def configure_auto_topup(
        self: _BillingWallet, *, enabled: bool, threshold_micros: int, amount_micros: int
    ) -> None:
        _check_amount("threshold_micros", threshold_micros)
        _check_amount("amount_micros", amount_micros)
        if enabled and amount_micros == 0:
            raise InvalidAmount("An auto top-up needs a positive amount")
        self.trigger_event(
            AutoTopUpConfigured, enabled=enabled, threshold_micros=threshold_micros,
            amount_micros=amount_micros,
        )

    def record_auto_topup(
        self: _BillingWallet, request_version: int, *, payment_ref: str, failure: str = ""
    ) -> None:
        """The outcome of the request saved at `request_version`."""
        if not self.auto_topup_in_flight:
            return  # recorded already, by an earlier run of the policy
        if not failure:
            self.trigger_event(
                AutoTopUpSucceeded, request_version=request_version, payment_ref=payment_ref
            )
            return
        failures = self.auto_topup_failures + 1
        self.trigger_event(
            AutoTopUpFailed, request_version=request_version, reason=failure[:500],
            failures=failures, disabled=failures >= MAX_AUTO_TOPUP_FAILURES,
        )
        # The customer hears of it as a low balance: nothing refilled it.
        self.trigger_event(
            LowBalanceCrossed, available_micros=self.available_micros,
            threshold_micros=self.auto_topup_threshold_micros,
        )

    def watch_balance(self: _BillingWallet, available_before: int) -> None:
        """After money moved: raise the alerts and requests a debit calls for,
        and lift a refund's flag once the balance is back within its limit."""
        after = self.available_micros
        if after >= available_before:
            if self.flagged and after >= 0:
                self.trigger_event(Unflagged, reason="back within the credit limit")
            return
        threshold = self.low_balance_threshold_micros
        if threshold and available_before >= threshold > after:
            self.trigger_event(
                LowBalanceCrossed, available_micros=after, threshold_micros=threshold
            )
        auto_threshold = self.auto_topup_threshold_micros
        if self.auto_topup_enabled and not self.auto_topup_in_flight and after < auto_threshold:
            self.trigger_event(
                AutoTopUpRequested, amount_micros=self.auto_topup_amount_micros,
                available_micros=after, threshold_micros=auto_threshold,
            )


def _check_reference(name: str, value: str) -> None:
    if not value or len(value) > MAX_REFERENCE_LENGTH:
        raise InvalidAmount(f"{name} is 1 to {MAX_REFERENCE_LENGTH} characters", **{name: value})


def _check_amount(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10**15:
        raise InvalidAmount(f"{name} must be a non-negative integer of micros", **{name: value})
