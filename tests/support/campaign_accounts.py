"""Helpers for the campaign and contact tests: accounts, and what the store
says was sent for a campaign."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from adapters.bootstrap.container import Container
from domain.message import Message
from domain.wallet import TopUpSource
from tests.support.senders import approve_sender

GB_PRICE_MICROS = 34_800  # the default GBP card's price of one GB segment
NOTIFICATION_PAGE = 10_000


@dataclass(frozen=True)
class Account:
    account_id: str
    headers: dict[str, str]
    wallet_id: UUID


def new_account(container: Container, top_up_micros: int = 2_000_000_000) -> Account:
    profile = container.accounts.create_account(f"Crm {uuid4().hex[:8]}", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    if top_up_micros:
        container.wallets.top_up(live, top_up_micros, TopUpSource.STRIPE, f"pi_{uuid4().hex}")
    for sender in ("Acme", "MyShop"):
        approve_sender(container, profile.account_id, sender)
    key = container.accounts.issue_key(profile.account_id, sandbox=False)
    return Account(profile.account_id, {"X-API-Key": key.api_key,
                                        "X-API-Secret": key.api_secret}, live)


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+4477009{i:05d}" for i in range(start, start + count)]


def accepted_messages(container: Container, campaign_id: UUID) -> list[Message.Accepted]:
    """Every Message.Accepted in the store for this campaign, from the log."""
    found: list[Any] = []
    start = 1
    recorder = container.app.recorder
    mapper = container.app.mapper
    while True:
        page = recorder.select_notifications(start, NOTIFICATION_PAGE, topics=[
            f"{Message.Accepted.__module__}:{Message.Accepted.__qualname__}"])
        for notification in page:
            event = mapper.to_domain_event(notification)
            if event.campaign_id == campaign_id:  # type: ignore[attr-defined]
                found.append(event)
        if len(page) < NOTIFICATION_PAGE:
            return found
        start = page[-1].id + 1


def sent_once(container: Container, campaign_id: UUID, expected: list[str]) -> None:
    """Every expected number has exactly one message, and no other has any."""
    destinations = Counter(e.destination for e in accepted_messages(container, campaign_id))
    repeated = {d: n for d, n in destinations.items() if n > 1}
    assert not repeated, f"sent twice: {list(repeated)[:5]}"
    assert set(destinations) == set(expected), (
        f"missing {len(set(expected) - set(destinations))},"
        f" unexpected {len(set(destinations) - set(expected))}"
    )
