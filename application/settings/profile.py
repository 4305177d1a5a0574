"""The account profile: name, timezone, default country and low-balance threshold.

The first three are configuration rows; the threshold belongs to the live
wallet and changes through a wallet event, like every other wallet setting.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.errors import NotFound, ValidationFailed
from application.ledger.wallets import WalletService
from domain import ids
from domain.messaging.phone import KNOWN_COUNTRIES

MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class AccountSettings:
    account_id: str
    name: str
    currency: str
    default_country: str | None
    timezone: str
    trusted: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Profile:
    settings: AccountSettings
    low_balance_threshold_micros: int


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """Fields left as None stay as they are; `clear_default_country` empties it."""

    name: str | None = None
    timezone: str | None = None
    default_country: str | None = None
    clear_default_country: bool = False
    low_balance_threshold_micros: int | None = None


class AccountSettingsStore(Protocol):
    def get(self, account_id: str) -> AccountSettings | None: ...

    def update(
        self, account_id: str, *, name: str | None, timezone: str | None,
        default_country: str | None, clear_default_country: bool,
    ) -> None: ...


class ProfileService:
    def __init__(self, store: AccountSettingsStore, wallets: WalletService) -> None:
        self._store = store
        self._wallets = wallets

    def profile(self, account_id: str) -> Profile:
        settings = self._store.get(account_id)
        if settings is None:
            raise NotFound("No such account", account_id=account_id)
        live = self._wallets.balance(ids.wallet_id(account_id, sandbox=False))
        return Profile(settings, live.low_balance_threshold_micros)

    def change(self, account_id: str, change: ProfileChange) -> Profile:
        _check(change)
        if change.name is not None or change.timezone is not None or (
            change.default_country is not None or change.clear_default_country
        ):
            self._store.update(
                account_id, name=change.name, timezone=change.timezone,
                default_country=change.default_country and change.default_country.upper(),
                clear_default_country=change.clear_default_country,
            )
        if change.low_balance_threshold_micros is not None:
            self._wallets.change_low_balance_threshold(
                ids.wallet_id(account_id, sandbox=False), change.low_balance_threshold_micros
            )
        return self.profile(account_id)


def _check(change: ProfileChange) -> None:
    if change.name is not None and not 1 <= len(change.name.strip()) <= MAX_NAME_LENGTH:
        raise ValidationFailed(f"name is 1 to {MAX_NAME_LENGTH} characters")
    if change.timezone is not None and not valid_timezone(change.timezone):
        raise ValidationFailed("timezone is an IANA zone name, e.g. Europe/London",
                               timezone=change.timezone)
    if change.default_country is not None and change.default_country.upper() not in (
        KNOWN_COUNTRIES
    ):
        raise ValidationFailed("default_country is an ISO 3166 alpha-2 code of a supported"
                               " country, e.g. GB", default_country=change.default_country)


def valid_timezone(name: str) -> bool:
    if not 1 <= len(name) <= 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
