"""Each process keeps its own cache of live wallets. Another process's
writes to a wallet (the dispatcher's settlements, a top-up taken by another
API worker, the auto top-up role) must never make this process refuse a
command that the stored wallet allows."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from application.sending.send import BulkRecipient, SendBulk, SendMessage
from domain import ids
from domain.errors import InsufficientBalance
from domain.wallet import TopUpSource


@pytest.fixture
def other_process(database_url: str) -> Iterator[Container]:
    other = build(Settings.from_env({}), database_url)
    try:
        yield other
    finally:
        other.close()


def _funded_account(container: Container, credit_micros: int) -> str:
    profile = container.accounts.create_account("Cache Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    if credit_micros:
        container.wallets.top_up(live, credit_micros, TopUpSource.STRIPE, f"cs_{uuid4()}")
    return profile.account_id


def _send(container: Container, account_id: str) -> None:
    container.messaging.send(SendMessage(account_id, "+447700900123", "Acme", "hello"))


def test_a_send_sees_a_top_up_another_process_made(
    container: Container, other_process: Container
) -> None:
    account_id = _funded_account(container, 0)
    with pytest.raises(InsufficientBalance):
        _send(container, account_id)  # this process now caches an empty wallet
    live = ids.wallet_id(account_id, sandbox=False)
    other_process.wallets.top_up(live, 10_000_000, TopUpSource.STRIPE, f"cs_{uuid4()}")
    _send(container, account_id)
    assert container.wallets.balance(live).reserved_micros > 0


def test_a_bulk_sees_a_top_up_another_process_made(
    container: Container, other_process: Container
) -> None:
    account_id = _funded_account(container, 0)
    recipients = [BulkRecipient("+447700900123", {}), BulkRecipient("+447700900124", {})]
    with pytest.raises(InsufficientBalance):
        container.messaging.send_bulk(SendBulk(account_id, recipients, "Acme", "hello"))
    live = ids.wallet_id(account_id, sandbox=False)
    other_process.wallets.top_up(live, 10_000_000, TopUpSource.STRIPE, f"cs_{uuid4()}")
    accepted = container.messaging.send_bulk(SendBulk(account_id, recipients, "Acme", "hello"))
    assert accepted.accepted == 2
