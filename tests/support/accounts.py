"""A funded account with an approved sender and an API key, as the HTTP
tests use one."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from adapters.bootstrap.container import Container
from domain.wallet import TopUpSource
from tests.support.senders import approve_sender


@dataclass(frozen=True)
class Account:
    account_id: str
    headers: dict[str, str]


def new_account(
    container: Container, top_up_micros: int = 100_000_000, *, sandbox_key: bool = False
) -> Account:
    profile = container.accounts.create_account(f"Reader {uuid4().hex[:8]}", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")  # and the sandbox's
    container.wallets.top_up(live, top_up_micros, TopUpSource.STRIPE, f"pi_{uuid4().hex}")
    approve_sender(container, profile.account_id)
    key = container.accounts.issue_key(profile.account_id, sandbox=sandbox_key)
    headers = {"X-API-Key": key.api_key, "X-API-Secret": key.api_secret}
    return Account(profile.account_id, headers)
