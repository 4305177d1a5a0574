"""Auto top-up: a card saved through a setup-mode Checkout Session, one
off-session charge however many concurrent sends cross the threshold, and
the rule switched off after three declines."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
from eventsourcing.utils import get_topic
from litestar.testing import TestClient
from psycopg import sql

from adapters.bootstrap.container import Container, build
from application.sending.send import SendMessage
from domain.errors import InsufficientBalance
from domain.wallet import Wallet
from tests.integration.billing.support import (
    Account,
    balance_micros,
    deliver,
    open_account,
    stripe_settings,
)
from tests.support.stripe_standin import StripeStandIn

SENDS = 24


def _enable(client: TestClient, stripe_api: StripeStandIn, account: Account,
            container: Container, *, threshold: int, amount: int) -> str:
    response = client.post("/v1/billing/auto-topup", headers=account.live,
                           json={"enabled": True, "threshold": threshold, "amount": amount})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    # No card yet: the rule waits, off, for the setup page.
    assert data["enabled"] is False and data["setup_url"]
    session_id = data["setup_url"].rsplit("/", 1)[1]
    assert stripe_api.sessions[session_id]["mode"] == "setup"
    method = f"pm_{session_id}"
    outcome = deliver(client, "checkout.session.completed",
                      stripe_api.save_card(session_id, method)).json()["data"]["outcome"]
    assert outcome == "payment method saved"
    assert container.wallets.balance(account.wallet_id).auto_topup_enabled
    shown = client.get("/v1/billing/balance", headers=account.live).json()["data"]
    assert shown["auto_topup_enabled"] is True
    return method


def _send_concurrently(containers: list[Container], account: Account) -> int:
    def send(index: int) -> bool:
        try:
            containers[index % len(containers)].messaging.send(
                SendMessage(account.account_id, f"+4477009{index:05d}", "Acme", "hi"))
        except InsufficientBalance:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(send, range(SENDS)))


def _charges_for(stripe_api: StripeStandIn, method: str) -> list[tuple[dict, str | None]]:
    return [c for c in stripe_api.calls("POST", "/v1/payment_intents")
            if c[0]["payment_method"] == method]


def test_concurrent_sends_below_the_threshold_top_up_once(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn,
    database_url: str,
) -> None:
    account = open_account(billing_container, credit_micros=10_000_000)
    method = _enable(client, stripe_api, account, billing_container,
                     threshold=990, amount=2000)
    other = build(stripe_settings(stripe_api), database_url)  # a second API process
    try:
        accepted = _send_concurrently([billing_container, other], account)
    finally:
        other.close()
    assert accepted == SENDS
    billing_container.app.forget_wallet(account.wallet_id)
    requests = [e for e in billing_container.app.events.get(account.wallet_id)
                if isinstance(e, Wallet.AutoTopUpRequested)]
    assert len(requests) == 1
    for _ in range(3):  # the policy running again, as after a restart
        billing_container.auto_topup.run_once()
    charges = _charges_for(stripe_api, method)
    assert len(charges) == 1
    params, key = charges[0]
    assert params["amount"] == "2000" and params["off_session"] == "true"
    assert key == f"auto-topup/{account.wallet_id}/{requests[0].originator_version}"
    balance = billing_container.wallets.balance(account.wallet_id)
    assert balance.balance_micros == 10_000_000 + 20_000_000
    assert billing_container.verifier.verify().ok


def test_three_declines_raise_low_balance_and_switch_the_rule_off(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn,
) -> None:
    account = open_account(billing_container, credit_micros=10_000_000)
    method = _enable(client, stripe_api, account, billing_container,
                     threshold=990, amount=2000)
    stripe_api.declined_methods.add(method)
    for attempt in range(4):
        billing_container.messaging.send(
            SendMessage(account.account_id, f"+44770091{attempt:04d}", "Acme", "hi"))
        billing_container.messaging.send(
            SendMessage(account.account_id, f"+44770092{attempt:04d}", "Acme", "hi"))
        billing_container.auto_topup.run_once()
    assert len(_charges_for(stripe_api, method)) == 3
    events = list(billing_container.app.events.get(account.wallet_id))
    failures = [e for e in events if isinstance(e, Wallet.AutoTopUpFailed)]
    assert [f.failures for f in failures] == [1, 2, 3]
    assert failures[-1].disabled and "card_declined" in failures[-1].reason
    assert sum(isinstance(e, Wallet.LowBalanceCrossed) for e in events) >= 3
    assert not billing_container.wallets.balance(account.wallet_id).auto_topup_enabled
    assert balance_micros(billing_container, account) == 10_000_000


def test_a_request_stored_under_its_former_topic_is_carried_out(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn,
    database_url: str,
) -> None:
    # Requests written before the event was nested in Wallet keep the topic
    # of its old module; the policy selects requests by topic.
    account = open_account(billing_container, credit_micros=10_000_000)
    method = _enable(client, stripe_api, account, billing_container,
                     threshold=990, amount=2000)
    for index in range(SENDS):  # until one takes the balance below the threshold
        billing_container.messaging.send(
            SendMessage(account.account_id, f"+44770093{index:04d}", "Acme", "hi"))
        with billing_container.app.locked_wallet(account.wallet_id) as wallet:
            if wallet.auto_topup_in_flight:
                break
    table = billing_container.app.recorder.events_table_name
    with psycopg.connect(database_url, autocommit=True) as conn:
        moved = conn.execute(
            sql.SQL("UPDATE {} SET topic = %s WHERE originator_id = %s AND topic = %s").format(
                sql.Identifier(table)),
            ("domain.wallet_billing:AutoTopUpRequested", account.wallet_id,
             get_topic(Wallet.AutoTopUpRequested)),
        ).rowcount
    assert moved == 1
    billing_container.auto_topup.run_once()
    assert len(_charges_for(stripe_api, method)) == 1
    assert balance_micros(billing_container, account) > 10_000_000
    assert billing_container.verifier.verify().ok
