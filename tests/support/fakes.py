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


class InMemoryOptOuts:
    """The opt-out log in a list: the latest action per number wins."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []

    def record(self, account_id: str, phone: str, action: object, *, source: str,
               keyword: str) -> None:
        self.log.append((account_id, phone, str(action)))

    def opted_out(self, account_id: str) -> frozenset[str]:
        latest: dict[str, str] = {}
        for account, phone, action in self.log:
            if account == account_id:
                latest[phone] = action
        return frozenset(phone for phone, action in latest.items() if action == "opt_out")
