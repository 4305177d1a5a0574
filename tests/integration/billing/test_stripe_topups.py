"""Stripe top-ups end to end: the real `stripe` library against a local
stand-in of Stripe's API, and webhooks signed the way Stripe signs them."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.config.settings import Settings
from adapters.http.app import create_app
from tests.integration.billing.support import Account, balance_micros, deliver, open_account
from tests.support.stripe_standin import StripeStandIn


def _checkout(client: TestClient, account: Account, amount: int = 2500) -> dict:
    response = client.post("/v1/billing/checkout", headers=account.live,
                           json={"amount": amount, "currency": "GBP"})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_checkout_creates_a_session_carrying_the_account(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container)
    data = _checkout(client, account)
    session = stripe_api.sessions[data["id"]]
    assert data["url"] == session["url"] and data["credited"] is False
    assert session["metadata"]["account_id"] == account.account_id
    assert session["metadata"]["topup_ref"] == data["topup_ref"]
    assert session["amount_total"] == 2500 and session["currency"] == "gbp"
    (params, key), = [c for c in stripe_api.calls("POST", "/v1/checkout/sessions")
                      if c[0]["metadata"].get("topup_ref") == data["topup_ref"]]
    assert key == data["topup_ref"]
    assert params["payment_intent_data"]["metadata"]["account_id"] == account.account_id
    # Outside the configured limits, or in another currency: refused.
    for body in ({"amount": 1, "currency": "GBP"}, {"amount": 2500, "currency": "USD"},
                 {"amount": 2500, "currency": "GBP", "account_id": "x"}):
        refused = client.post("/v1/billing/checkout", headers=account.live, json=body)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_same_session_ten_times_shuffled_credits_once(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container)
    session = stripe_api.pay(_checkout(client, account, 2500)["id"])
    deliveries = [("checkout.session.completed", f"evt_c{i}") for i in range(5)]
    deliveries += [("checkout.session.async_payment_succeeded", f"evt_a{i}") for i in range(5)]
    random.Random(7).shuffle(deliveries)
    outcomes = []
    for event_type, event_id in deliveries:
        response = deliver(client, event_type, session, event_id=f"{event_id}_{session['id']}")
        assert response.status_code == 200, response.text
        outcomes.append(response.json()["data"]["outcome"])
    assert outcomes.count("credited") == 1
    assert balance_micros(billing_container, account) == 25_000_000
    lines = client.get("/v1/billing/transactions", headers=account.live)
    assert lines.status_code == 200


def test_tampered_old_and_wrongly_signed_bodies_are_rejected(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container)
    session = stripe_api.pay(_checkout(client, account, 1000)["id"])
    attempts = [
        deliver(client, "checkout.session.completed", session, tamper=True),
        deliver(client, "checkout.session.completed", session,
                timestamp=int(time.time()) - 301),
        deliver(client, "checkout.session.completed", session, secret="whsec_wrong"),
    ]
    unsigned = client.post("/v1/billing/stripe/webhook", content=b"{}",
                           headers={"content-type": "application/json"})
    for response in [*attempts, unsigned]:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert balance_micros(billing_container, account) == 0
    # Within the tolerance (4 minutes old) the same body is accepted.
    fresh = deliver(client, "checkout.session.completed", session,
                    timestamp=int(time.time()) - 240)
    assert fresh.json()["data"]["outcome"] == "credited"
    assert balance_micros(billing_container, account) == 10_000_000


def test_async_payment_failed_then_succeeded_credits_once(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container)
    session_id = _checkout(client, account, 4000)["id"]
    pending = stripe_api.pay(session_id, payment_status="unpaid")
    first = deliver(client, "checkout.session.completed", pending)
    assert first.json()["data"]["outcome"] == "awaiting payment"
    failed = deliver(client, "checkout.session.async_payment_failed", pending)
    assert failed.json()["data"]["outcome"] == "payment failed; nothing credited"
    assert balance_micros(billing_container, account) == 0
    with billing_container.pool.connection() as conn:
        recorded = conn.execute(
            "SELECT type, outcome FROM billing_notifications WHERE object_ref = %s"
            " ORDER BY received_at", (session_id,)).fetchall()
    assert ("checkout.session.async_payment_failed", "payment failed; nothing credited") in \
        recorded
    paid = stripe_api.pay(session_id)
    for _ in range(2):
        deliver(client, "checkout.session.async_payment_succeeded", paid)
    assert balance_micros(billing_container, account) == 40_000_000


def test_refunds_debit_once_and_flag_beyond_the_credit_limit(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container, credit_limit_micros=5_000_000)
    session = stripe_api.pay(_checkout(client, account, 2000)["id"])
    deliver(client, "checkout.session.completed", session)
    charge = {"id": "ch_" + session["id"], "object": "charge", "currency": "gbp",
              "payment_intent": session["payment_intent"], "amount": 2000,
              "amount_refunded": 500, "refunded": False}
    for _ in range(3):
        deliver(client, "charge.refunded", charge)
    assert balance_micros(billing_container, account) == 15_000_000
    refunds = [e for e in billing_container.app.events.get(account.wallet_id)
               if type(e).__name__ == "Refunded"]
    assert [r.amount_micros for r in refunds] == [5_000_000]
    # A spend-down and a full refund: 20.00 back takes it 6.00 below zero,
    # 1.00 beyond the 5.00 credit limit.
    billing_container.wallets.adjust(account.wallet_id, -6_000_000, "spent", "t-1")
    deliver(client, "charge.refunded", {**charge, "amount_refunded": 2000, "refunded": True})
    balance = billing_container.wallets.balance(account.wallet_id)
    assert balance.balance_micros == -6_000_000 and balance.available_micros == -1_000_000
    assert balance.flagged
    shown = client.get("/v1/billing/balance", headers=account.live).json()["data"]
    assert shown["flagged"] is True and shown["available_micros"] == -1_000_000


def test_a_dispute_freezes_sending_until_an_admin_resolves_it(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container)
    session = stripe_api.pay(_checkout(client, account, 5000)["id"])
    deliver(client, "checkout.session.completed", session)
    dispute = {"id": "dp_" + session["id"], "object": "dispute", "amount": 5000,
               "currency": "gbp", "charge": "ch_x", "payment_intent": session["payment_intent"],
               "reason": "fraudulent", "status": "needs_response"}
    assert deliver(client, "charge.dispute.created", dispute).json()["data"]["outcome"] == \
        "sending frozen"
    assert deliver(client, "charge.dispute.created", dispute).json()["data"]["outcome"] == \
        "dispute already open"
    message = {"to": "+447700900123", "from": "Acme", "body": "hi"}
    for path, body in (("/v1/sms/send", message),
                       ("/v1/sms/bulk", {"recipients": [{"to": "+447700900124"}],
                                         "from": "Acme", "body": "hi"})):
        refused = client.post(path, headers=account.live, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "ACCOUNT_FROZEN"
    # Sandbox sending is not the disputed money and goes on.
    assert client.post("/v1/sms/send", headers=account.sandbox, json=message).status_code == 200
    billing_container.billing.resolve_dispute(account.account_id, dispute["id"], "won", "ok")
    assert client.post("/v1/sms/send", headers=account.live, json=message).status_code == 200


def test_sandbox_checkout_credits_at_once_without_stripe(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container)
    calls_before = len(stripe_api.requests)
    response = client.post("/v1/billing/checkout", headers=account.sandbox,
                           json={"amount": 1500, "currency": "GBP"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["sandbox"] is True and data["credited"] is True
    assert data["url"].startswith("https://sandbox.smsledger.invalid/checkout/")
    assert len(stripe_api.requests) == calls_before
    assert balance_micros(billing_container, account, sandbox=True) == 15_000_000
    assert balance_micros(billing_container, account) == 0


def test_live_checkout_without_a_key_is_503(database_url: str) -> None:
    container = build(Settings.from_env({}), database_url)
    try:
        account = open_account(container)
        with TestClient(create_app(container)) as bare:
            response = bare.post("/v1/billing/checkout", headers=account.live,
                                 json={"amount": 1500, "currency": "GBP"})
            webhook = bare.post("/v1/billing/stripe/webhook", content=b"{}")
    finally:
        container.close()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "STRIPE_API_KEY" in response.json()["error"]["message"]
    assert webhook.status_code == 503


def test_reconcile_credits_paid_sessions_no_webhook_delivered(
    billing_container: Container, client: TestClient, stripe_api: StripeStandIn
) -> None:
    account = open_account(billing_container)
    since = time.time() - 1
    paid = [stripe_api.pay(_checkout(client, account, 1000 + i)["id"]) for i in range(3)]
    _checkout(client, account, 3000)  # abandoned: never paid
    deliver(client, "checkout.session.completed", paid[0])  # the only webhook that arrived
    report = billing_container.billing.reconcile(datetime.fromtimestamp(since, UTC))
    assert sorted(report.credited) == sorted(s["id"] for s in paid[1:])
    assert report.sessions >= 4
    assert balance_micros(billing_container, account) == sum(
        (1000 + i) * 10_000 for i in range(3))
    again = billing_container.billing.reconcile(datetime.fromtimestamp(since, UTC))
    assert again.credited == []
    assert billing_container.verifier.verify().ok


def test_the_billing_operations_are_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi/openapi.json").json()
    operation_ids = {
        operation["operationId"]
        for path in document["paths"].values() for operation in path.values()
    }
    assert {"createCheckout", "configureAutoTopUp", "receiveStripeWebhook", "listInvoices",
            "getInvoice", "getInvoicePdf", "exportUsage", "getBalance"} <= operation_ids
