"""What platform operators do to accounts: adjust balances with a reason, set
rate-card overrides, and mark accounts trusted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from application.errors import NotFound, ValidationFailed
from application.ledger.wallets import Balance, WalletService
from domain import ids
from domain.messaging.phone import KNOWN_COUNTRIES
from domain.wallet import MAX_AMOUNT_MICROS

MAX_REASON_LENGTH = 500
MAX_REFERENCE_LENGTH = 200


class AccountAdminStore(Protocol):
    def exists(self, account_id: str) -> bool: ...

    def set_trusted(self, account_id: str, trusted: bool) -> bool: ...

    def rate_overrides(self, account_id: str) -> dict[str, int]: ...

    def set_rate_override(self, account_id: str, country: str, price_micros: int) -> None: ...

    def delete_rate_override(self, account_id: str, country: str) -> bool: ...


class AccountAdminService:
    def __init__(
        self,
        store: AccountAdminStore,
        wallets: WalletService,
        forget_profile: Callable[[str], None],
    ) -> None:
        self._store = store
        self._wallets = wallets
        # Sending reads rate overrides from a cached profile; after a change
        # this process drops its copy (others refresh within their TTL).
        self._forget_profile = forget_profile

    def adjust_balance(
        self, account_id: str, amount_micros: int, reason: str, reference: str, *,
        sandbox: bool = False,
    ) -> Balance:
        """Credit (positive) or debit (negative) a wallet, recorded with why."""
        self._require(account_id)
        if not reason.strip() or len(reason) > MAX_REASON_LENGTH:
            raise ValidationFailed(f"reason is 1 to {MAX_REASON_LENGTH} characters")
        if len(reference) > MAX_REFERENCE_LENGTH:
            raise ValidationFailed(f"reference is at most {MAX_REFERENCE_LENGTH} characters")
        wallet_id = ids.wallet_id(account_id, sandbox=sandbox)
        return self._wallets.adjust(wallet_id, amount_micros, reason.strip(), reference)

    def set_trusted(self, account_id: str, trusted: bool) -> None:
        if not self._store.set_trusted(account_id, trusted):
            raise NotFound("No such account", account_id=account_id)

    def rate_overrides(self, account_id: str) -> dict[str, int]:
        self._require(account_id)
        return self._store.rate_overrides(account_id)

    def set_rate_override(self, account_id: str, country: str, price_micros: int) -> None:
        self._require(account_id)
        code = _country(country)
        if not 0 <= price_micros <= MAX_AMOUNT_MICROS:
            raise ValidationFailed("price_micros is between 0 and the maximum amount",
                                   price_micros=price_micros)
        self._store.set_rate_override(account_id, code, price_micros)
        self._forget_profile(account_id)

    def delete_rate_override(self, account_id: str, country: str) -> None:
        self._require(account_id)
        if not self._store.delete_rate_override(account_id, _country(country)):
            raise NotFound("This account has no override for that country", country=country)
        self._forget_profile(account_id)

    def _require(self, account_id: str) -> None:
        if not self._store.exists(account_id):
            raise NotFound("No such account", account_id=account_id)


def _country(country: str) -> str:
    code = country.upper()
    if code not in KNOWN_COUNTRIES:
        raise ValidationFailed("country is an ISO 3166 alpha-2 code of a supported country",
                               country=country)
    return code
