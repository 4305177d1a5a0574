"""What every context of the application needs from the outside world.

Only what several contexts share lives here: the account directory. Each
context keeps its own ports beside its use cases (`application/<context>/ports.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AccountProfile:
    """The settings of an account that sending and billing depend on."""

    account_id: str
    name: str
    currency: str
    default_country: str | None
    rate_overrides_micros: Mapping[str, int] = field(default_factory=dict)


class AccountNotFound(LookupError):
    pass


class AccountDirectory(Protocol):
    def profile(self, account_id: str) -> AccountProfile:
        """The account's profile; raises AccountNotFound."""
        ...
