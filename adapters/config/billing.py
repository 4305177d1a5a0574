"""Billing configuration: Stripe's keys and base, the checkout pages, limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TOPUP_MIN_MINOR = 500  # 5.00 in the account's currency
DEFAULT_TOPUP_MAX_MINOR = 1_000_000  # 10,000.00
MAX_TOPUP_MINOR = 99_999_999  # Stripe's own ceiling for one Checkout amount


@dataclass(frozen=True, slots=True)
class BillingSettings:
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    # None: the page of that name under the API's address (Settings.checkout_urls).
    checkout_success_url: str | None = None
    checkout_cancel_url: str | None = None
    topup_min_minor: int = DEFAULT_TOPUP_MIN_MINOR
    topup_max_minor: int = DEFAULT_TOPUP_MAX_MINOR

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> BillingSettings:
        base = env.get("STRIPE_API_BASE") or None
        if base is not None and not base.startswith(("http://", "https://")):
            problems.append("STRIPE_API_BASE must be an http(s) URL")
            base = None
        minimum = _minor(env, "SMSLEDGER_TOPUP_MIN", DEFAULT_TOPUP_MIN_MINOR, problems)
        maximum = _minor(env, "SMSLEDGER_TOPUP_MAX", DEFAULT_TOPUP_MAX_MINOR, problems)
        if minimum > maximum:
            problems.append("SMSLEDGER_TOPUP_MIN must not exceed SMSLEDGER_TOPUP_MAX")
        return cls(
            stripe_api_key=env.get("STRIPE_API_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=base,
            checkout_success_url=env.get("SMSLEDGER_CHECKOUT_SUCCESS_URL") or None,
            checkout_cancel_url=env.get("SMSLEDGER_CHECKOUT_CANCEL_URL") or None,
            topup_min_minor=minimum,
            topup_max_minor=maximum,
        )


def _minor(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOPUP_MINOR:
        problems.append(f"{name} is whole minor units (pence, cents), 1 to {MAX_TOPUP_MINOR}")
        return default
    return int(raw)
