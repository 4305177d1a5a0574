"""Wallet use cases: open, top up, adjust, limits, and reading balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.errors import Conflict, NotFound
from application.ledger.app import LedgerApplication
from domain import ids
from domain.receipt import TopUpReceipt
from domain.wallet import TopUpSource, Wallet


@dataclass(frozen=True, slots=True)
class Balance:
    wallet_id: UUID
    currency: str
    balance_micros: int
    reserved_micros: int
    credit_limit_micros: int
    available_micros: int
    low_balance_threshold_micros: int
    version: int
    auto_topup_enabled: bool = False
    frozen: bool = False  # an open payment dispute stops sending
    flagged: bool = False  # a refund took it beyond its credit limit


@dataclass(frozen=True, slots=True)
class TopUpResult:
    credited: bool  # False when the external reference was already credited
    balance: Balance


def balance_of(wallet: Wallet) -> Balance:
    return Balance(
        wallet_id=wallet.id,
        currency=wallet.currency,
        balance_micros=wallet.balance_micros,
        reserved_micros=wallet.reserved_micros,
        credit_limit_micros=wallet.credit_limit_micros,
        available_micros=wallet.available_micros,
        low_balance_threshold_micros=wallet.low_balance_threshold_micros,
        version=wallet.version,
        auto_topup_enabled=wallet.auto_topup_enabled,
        frozen=wallet.frozen,
        flagged=wallet.flagged,
    )


class WalletService:
    def __init__(self, app: LedgerApplication) -> None:
        self._app = app

    def open_wallets(
        self, account_id: str, currency: str, *, credit_limit_micros: int = 0
    ) -> tuple[UUID, UUID]:
        """Open the account's live and sandbox wallets; idempotent."""
        opened = []
        for sandbox in (False, True):
            wallet_id = ids.wallet_id(account_id, sandbox=sandbox)
            wallet = Wallet.open(
                wallet_id,
                account_id,
                currency,
                sandbox=sandbox,
                credit_limit_micros=0 if sandbox else credit_limit_micros,
            )
            try:
                self._app.record(wallet)
            except IntegrityError:
                pass  # opened before: the derived id makes this a no-op
            opened.append(wallet_id)
        return opened[0], opened[1]

    def top_up(
        self, wallet_id: UUID, amount_micros: int, source: TopUpSource, external_ref: str
    ) -> TopUpResult:
        """Credit the wallet once per (source, external_ref)."""

        def credit(wallet: Wallet) -> Balance:
            wallet.top_up(amount_micros, source, external_ref)
            receipt = TopUpReceipt.record(wallet.id, str(source), external_ref, amount_micros)
            self._app.record(wallet, receipt)
            return balance_of(wallet)

        try:
            return TopUpResult(True, self._app.run_on_wallet(wallet_id, credit))
        except Conflict:
            return TopUpResult(False, self.balance(wallet_id))

    def adjust(self, wallet_id: UUID, amount_micros: int, reason: str, reference: str) -> Balance:
        def adjust(wallet: Wallet) -> Balance:
            wallet.adjust(amount_micros, reason, reference)
            self._app.record(wallet)
            return balance_of(wallet)

        return self._app.run_on_wallet(wallet_id, adjust)

    def change_credit_limit(self, wallet_id: UUID, credit_limit_micros: int) -> Balance:
        def change(wallet: Wallet) -> Balance:
            wallet.change_credit_limit(credit_limit_micros)
            self._app.record(wallet)
            return balance_of(wallet)

        return self._app.run_on_wallet(wallet_id, change)

    def change_low_balance_threshold(self, wallet_id: UUID, threshold_micros: int) -> Balance:
        def change(wallet: Wallet) -> Balance:
            wallet.change_low_balance_threshold(threshold_micros)
            self._app.record(wallet)
            return balance_of(wallet)

        return self._app.run_on_wallet(wallet_id, change)

    def balance(self, wallet_id: UUID) -> Balance:
        with self._app.locked_wallet(wallet_id) as wallet:
            return balance_of(wallet)

    def balance_as_of(self, wallet_id: UUID, as_of: datetime) -> Balance:
        """The balance as it stood at `as_of`, replayed from the wallet's events."""
        if as_of.tzinfo is None:
            raise Conflict("as_of must carry a timezone")
        wallet: Wallet | None = None
        for event in self._app.events.get(wallet_id):
            if not isinstance(event, Wallet.Event | Wallet.Opened):
                continue
            if event.timestamp > as_of:
                break
            wallet = event.mutate(wallet)
        if wallet is None:
            raise NotFound("The wallet did not exist at that time", as_of=as_of.isoformat())
        return balance_of(wallet)
