"""Fixtures for webhook tests: an account with keys, a container whose guard
allows the local receiver, and a sender running in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.http.app import create_app
from adapters.webhooks.config import WebhookSettings
from adapters.webhooks.sender import WebhookSender
from adapters.webhooks.ssrf import SystemResolver, UrlGuard
from domain.api_keys import PERMISSIONS
from tests.support.accounts import Account
from tests.support.senders import approve_sender

LOCAL = frozenset({"127.0.0.1"})
FAST_SCHEDULE_S = (0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.5, 0.5)


@pytest.fixture
def hooks_container(container: Container) -> Container:
    hooks = WebhookSettings(allow_hosts=LOCAL, retry_schedule_s=FAST_SCHEDULE_S, timeout_s=2.0)
    settings = replace(container.settings, webhooks=hooks)
    return replace(container, settings=settings,
                   webhook_guard=UrlGuard(SystemResolver(), LOCAL))


@pytest.fixture
def make_account(hooks_container: Container) -> Callable[..., Account]:
    def make(permissions: tuple[str, ...] | None = None) -> Account:
        c = hooks_container
        profile = c.accounts.create_account("Hooks Ltd", "GBP", "GB")
        c.wallets.open_wallets(profile.account_id, "GBP")
        approve_sender(c, profile.account_id)
        created = c.accounts.keys.create_key(
            profile.account_id, sandbox=False, name="hooks",
            permissions=PERMISSIONS if permissions is None else permissions,
            check_count=lambda active: None,
        )
        return Account(profile.account_id, {"X-API-Key": created.info.api_key,
                                            "X-API-Secret": created.api_secret})

    return make


@pytest.fixture
def client(hooks_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(hooks_container)) as test_client:
        yield test_client


@contextmanager
def running_sender(container: Container, **kwargs: Any) -> Iterator[WebhookSender]:
    """A WebhookSender on its own event loop in a thread, stopped on exit."""
    sender = WebhookSender(container.database_url, container.webhook_guard,
                           container.settings.webhooks, **kwargs)
    loop = asyncio.new_event_loop()
    stop_holder: list[asyncio.Event] = []
    started = threading.Event()

    async def main() -> None:
        stop = asyncio.Event()
        stop_holder.append(stop)
        started.set()
        await sender.run(stop)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(5)
    try:
        yield sender
    finally:
        loop.call_soon_threadsafe(stop_holder[0].set)
        thread.join(30)
        loop.close()
