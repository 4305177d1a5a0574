"""Billing test helpers: settings for the Stripe stand-in, accounts with live
and sandbox keys, and webhooks signed the way Stripe signs them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.config.settings import Settings
from domain import ids
from domain.wallet import TopUpSource
from tests.support.senders import approve_sender
from tests.support.stripe_standin import API_KEY, WEBHOOK_SECRET, StripeStandIn, event_payload, sign


def stripe_settings(stripe_api: StripeStandIn, **extra: str) -> Settings:
    return Settings.from_env({
        "STRIPE_API_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_api.base_url, **extra,
    })


@dataclass(frozen=True)
class Account:
    account_id: str
    live: dict[str, str]
    sandbox: dict[str, str]

    @property
    def wallet_id(self) -> UUID:
        return ids.wallet_id(self.account_id, sandbox=False)


def open_account(container: Container, credit_micros: int = 0, **limits: int) -> Account:
    profile = container.accounts.create_account("Billing Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP", **limits)
    if credit_micros:
        container.wallets.top_up(live, credit_micros, TopUpSource.ADJUSTMENT, "opening")
    approve_sender(container, profile.account_id)
    keys = [container.accounts.issue_key(profile.account_id, sandbox=s) for s in (False, True)]
    return Account(
        profile.account_id,
        *({"X-API-Key": k.api_key, "X-API-Secret": k.api_secret} for k in keys),
    )


def deliver(client: TestClient, event_type: str, obj: dict[str, Any], *,
            event_id: str | None = None, secret: str = WEBHOOK_SECRET,
            timestamp: int | None = None, tamper: bool = False) -> Any:
    payload = event_payload(event_type, obj, event_id)
    header = sign(payload, secret, timestamp)
    if tamper:
        payload = payload.replace(b'"amount_total": ', b'"amount_total": 9')
    return client.post("/v1/billing/stripe/webhook", content=payload,
                       headers={"Stripe-Signature": header,
                                "content-type": "application/json"})


def balance_micros(container: Container, account: Account, *, sandbox: bool = False) -> int:
    return container.wallets.balance(
        ids.wallet_id(account.account_id, sandbox=sandbox)).balance_micros


def as_json(obj: Any) -> dict[str, Any]:
    return json.loads(json.dumps(obj))
