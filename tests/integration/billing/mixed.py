"""A mixed month of money on one account: an opening credit, a paid Checkout
Session, sends to three countries settled every way, a partial card refund
and a negative adjustment."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from application.delivery.outcomes import Outcome, OutcomeKind
from application.sending.send import SendMessage
from domain.messaging.status import MessageStatus
from tests.integration.billing.support import Account, deliver, open_account
from tests.support.stripe_standin import StripeStandIn

NUMBERS = ("+447700900123", "+447700900124", "+12025550123", "+12025550124", "+33612345678")


@dataclass(frozen=True)
class MixedMonth:
    account: Account
    purchased_micros: int
    refunded_micros: int
    adjusted_micros: int


def mixed_month(container: Container, client: TestClient, stripe_api: StripeStandIn
                ) -> MixedMonth:
    account = open_account(container, credit_micros=3_000_000)
    response = client.post("/v1/billing/checkout", headers=account.live,
                           json={"amount": 5000, "currency": "GBP"})
    session = stripe_api.pay(response.json()["data"]["id"])
    deliver(client, "checkout.session.completed", session)
    sent = [container.messaging.send(SendMessage(account.account_id, n, "Acme", "hello"))
            for n in NUMBERS]
    ids = [s.message_id for s in sent]
    outcomes = [Outcome(m, OutcomeKind.SUBMITTED, "sim", f"c-{m}") for m in ids[:4]]
    outcomes += [
        Outcome(ids[0], OutcomeKind.REPORTED, carrier_status="DELIVRD",
                status=MessageStatus.DELIVERED),
        Outcome(ids[2], OutcomeKind.REPORTED, carrier_status="DELIVRD",
                status=MessageStatus.DELIVERED),
        Outcome(ids[1], OutcomeKind.REPORTED, carrier_status="UNDELIV",
                status=MessageStatus.FAILED),
        Outcome(ids[4], OutcomeKind.REJECTED, error_code="88", reason="bad"),
    ]
    container.outcomes.record(outcomes)  # ids[3] stays held
    charge = {"id": f"ch_{session['id']}", "object": "charge", "currency": "gbp",
              "payment_intent": session["payment_intent"], "amount": 5000,
              "amount_refunded": 1200}
    deliver(client, "charge.refunded", charge)
    container.wallets.adjust(account.wallet_id, -250_000, "goodwill reversal", "T-9")
    return MixedMonth(account, 50_000_000, 12_000_000, -250_000)
