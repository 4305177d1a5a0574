"""The sandbox: each account's free playground, with its own wallet.

Resetting it refills the sandbox wallet to a configured amount and hides
every sandbox message accepted until then. The event store is append-only,
so nothing is deleted: a reset is an appended marker, and the message reads
of a sandbox key show only what was accepted after the latest marker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from application.ledger.app import LedgerApplication
from application.ledger.wallets import Balance, WalletService, balance_of
from application.ports import AccountDirectory
from domain import ids
from domain.wallet import Wallet

RESET_REASON = "sandbox reset"


class SandboxResets(Protocol):
    def record(self, account_id: str, reset_at: datetime, refilled_to_micros: int) -> None:
        """Append a reset marker; markers are never rewritten."""
        ...

    def last_reset(self, account_id: str) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class SandboxReset:
    reset_at: datetime
    balance: Balance


class SandboxService:
    def __init__(
        self,
        app: LedgerApplication,
        accounts: AccountDirectory,
        wallets: WalletService,
        resets: SandboxResets,
        *,
        refill_micros: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        assert refill_micros >= 0
        self._app = app
        self._accounts = accounts
        self._wallets = wallets
        self._resets = resets
        self._refill_micros = refill_micros
        self._now = now

    def reset(self, account_id: str) -> SandboxReset:
        profile = self._accounts.profile(account_id)
        # Accounts made before sandboxes existed get theirs now; a no-op after.
        self._wallets.open_wallets(account_id, profile.currency)
        reset_at = self._now()
        target_micros = self._refill_micros

        def refill(wallet: Wallet) -> Balance:
            # The sandbox never reserves (its sends are free), so the balance
            # is what there is to move back to the target.
            delta_micros = target_micros - wallet.balance_micros
            if delta_micros:
                wallet.adjust(delta_micros, RESET_REASON, f"sandbox-reset/{reset_at.isoformat()}")
                self._app.record(wallet)
            return balance_of(wallet)

        balance = self._app.run_on_wallet(ids.wallet_id(account_id, sandbox=True), refill)
        self._resets.record(account_id, reset_at, target_micros)
        return SandboxReset(reset_at, balance)

    def last_reset(self, account_id: str) -> datetime | None:
        """Sandbox messages accepted at or before this moment are hidden."""
        return self._resets.last_reset(account_id)
