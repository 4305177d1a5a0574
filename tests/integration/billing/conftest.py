"""Billing fixtures: the Stripe stand-in, a container configured for it and
an HTTP client on that container."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.http.app import create_app
from tests.integration.billing.support import stripe_settings
from tests.support.stripe_standin import StripeStandIn


@pytest.fixture(scope="module")
def stripe_api() -> Iterator[StripeStandIn]:
    with StripeStandIn() as standin:
        yield standin


@pytest.fixture
def billing_container(database_url: str, stripe_api: StripeStandIn) -> Iterator[Container]:
    built = build(stripe_settings(stripe_api), database_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(billing_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(billing_container)) as test_client:
        yield test_client
