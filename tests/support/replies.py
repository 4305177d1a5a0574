"""Arranging where a number's replies go, as the dispatcher notes it when a
carrier takes a live message (tests/integration/test_dispatch.py shows it)."""

from __future__ import annotations

from adapters.bootstrap.container import Container
from adapters.postgres.dispatch import PostgresReplyRoutes
from application.delivery.ports import SentTo


def handed_to_carrier(container: Container, account_id: str, number: str) -> None:
    PostgresReplyRoutes(container.pool).note([SentTo(number, account_id)])
