"""Concurrent sends against a wallet that pays for exactly half of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from application.sending.send import SendMessage
from domain import ids
from domain.errors import InsufficientBalance
from domain.wallet import TopUpSource

SENDS = 50
AFFORDABLE = 25


def _open_account(container: Container, credit_micros: int) -> str:
    profile = container.accounts.create_account("Concurrency Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, credit_micros, TopUpSource.ADJUSTMENT, "opening")
    return profile.account_id


def _price(container: Container) -> int:
    return container.messaging._rates.card("GBP").price_micros("GB", 1)


def _send_all(containers: list[Container], account_id: str) -> tuple[int, int]:
    def send(index: int) -> str:
        messaging = containers[index % len(containers)].messaging
        try:
            messaging.send(SendMessage(account_id, f"+4477009{index:05d}", "Acme", "hi"))
        except InsufficientBalance:
            return "refused"
        return "accepted"

    with ThreadPoolExecutor(max_workers=SENDS) as pool:
        results = list(pool.map(send, range(SENDS)))
    return results.count("accepted"), results.count("refused")


def _assert_ledger_agrees(container: Container, account_id: str, credit_micros: int) -> None:
    wallet_id = ids.wallet_id(account_id, sandbox=False)
    container.app.forget_wallet(wallet_id)
    balance = container.wallets.balance(wallet_id)
    assert balance.balance_micros == credit_micros
    assert balance.reserved_micros == credit_micros
    assert balance.available_micros == 0
    report = container.verifier.verify()
    assert report.ok, report.problems


def test_fifty_concurrent_sends_in_one_process(container: Container) -> None:
    credit_micros = AFFORDABLE * _price(container)
    account_id = _open_account(container, credit_micros)
    accepted, refused = _send_all([container], account_id)
    assert (accepted, refused) == (AFFORDABLE, SENDS - AFFORDABLE)
    _assert_ledger_agrees(container, account_id, credit_micros)


def test_fifty_concurrent_sends_from_two_processes_sharing_the_wallet(
    container: Container, database_url: str
) -> None:
    """Two application instances stand for two API processes: their wallet
    caches go stale against each other, and conflicts must be retried, never
    double-spent."""
    other = build(Settings.from_env({}), database_url)
    try:
        credit_micros = AFFORDABLE * _price(container)
        account_id = _open_account(container, credit_micros)
        accepted, refused = _send_all([container, other], account_id)
        assert accepted + refused == SENDS
        # A send may also fail after exhausting its conflict retries; none may
        # be accepted beyond what the wallet pays for.
        assert accepted == AFFORDABLE
        _assert_ledger_agrees(container, account_id, credit_micros)
    finally:
        other.close()


def test_a_balance_read_sees_what_another_process_recorded(
    container: Container, database_url: str
) -> None:
    """The API reads balances from its cached wallet; the dispatcher, in
    another process, settles. The read must not show the cache's old state."""
    other = build(Settings.from_env({}), database_url)
    try:
        account_id = _open_account(container, 1_000_000)
        wallet_id = ids.wallet_id(account_id, sandbox=False)
        before = container.wallets.balance(wallet_id)  # now cached here
        other.wallets.top_up(wallet_id, 250_000, TopUpSource.BONUS, f"elsewhere-{account_id}")
        after = container.wallets.balance(wallet_id)
        assert after.balance_micros == before.balance_micros + 250_000
        # And the caught-up wallet still saves: no conflict, no lost event.
        container.wallets.top_up(wallet_id, 1, TopUpSource.BONUS, f"here-{account_id}")
        assert other.wallets.balance(wallet_id).balance_micros == after.balance_micros + 1
    finally:
        other.close()
