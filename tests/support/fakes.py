"""In-memory implementations of application ports, for unit tests."""

from __future__ import annotations

from application.ports import AccountNotFound, AccountProfile


class InMemoryAccounts:
    def __init__(self) -> None:
        self._profiles: dict[str, AccountProfile] = {}

    def add(self, profile: AccountProfile) -> AccountProfile:
        self._profiles[profile.account_id] = profile
        return profile

    def profile(self, account_id: str) -> AccountProfile:
        try:
            return self._profiles[account_id]
        except KeyError:
            raise AccountNotFound(account_id) from None
