"""Envelopes as the relay publishes them, fed to the webhook intake through
the projection runner's transactional core."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from adapters.bootstrap.container import Container
from adapters.jetstream.batches import encode_envelope
from adapters.projector.runner import Delivery, ProjectionRunner
from adapters.webhooks.intake import WebhookIntake
from domain.published import Envelope

# Envelope ids are unique in the whole test database (webhook events keep
# them), so every test draws from one increasing sequence.
_ids = itertools.count(1_000_000_000)


def intake_runner(container: Container, intake: WebhookIntake | None = None) -> ProjectionRunner:
    chosen = intake or WebhookIntake(name=f"webhooks_test_{uuid4().hex[:10]}")
    return ProjectionRunner(chosen, container.pool, max_deliveries=3)


def feed(runner: ProjectionRunner, envelopes: Sequence[Envelope]) -> list[Envelope]:
    """Apply `envelopes` as one batch, numbered in the order given (the
    relay's order); returns them as numbered."""
    numbered = [msgspec.structs.replace(e, id=next(_ids)) for e in envelopes]
    replay(runner, numbered)
    return numbered


def replay(runner: ProjectionRunner, envelopes: Sequence[Envelope]) -> None:
    """Apply envelopes again, as JetStream redelivers them: same ids."""
    runner.apply_batch([Delivery(None, [e], encode_envelope(e), e.id) for e in envelopes])


def envelope(account_id: str, type_: str, aggregate: UUID, data: dict[str, Any],
             at: datetime | None = None) -> Envelope:
    return Envelope(id=next(_ids), type=type_, version=1,
                    occurred_at=at or datetime.now(UTC), account_id=account_id,
                    aggregate_id=aggregate, aggregate_version=1, data=data)


def message_lifecycle(account_id: str, message_id: UUID, *, callback_url: str | None = None,
                      at: datetime | None = None) -> list[Envelope]:
    """accepted, submitted, delivered: message.queued, .sent and .delivered."""
    start = at or datetime.now(UTC)
    return [
        envelope(account_id, "message.accepted", message_id, {
            "wallet_id": str(uuid4()), "campaign_id": None, "reservation_id": "r",
            "destination": "+447700900123", "country": "GB", "sender": "Acme",
            "encoding": "GSM-7", "segments": 1, "price_micros": 35_000, "currency": "GBP",
            "client_ref": f"ref-{message_id}", "sandbox": False, "validity_minutes": 60,
            "scheduled_at": None, "callback_url": callback_url,
        }, start),
        envelope(account_id, "message.submitted_to_carrier", message_id, {
            "carrier": "simulated", "carrier_message_id": f"c-{message_id}", "settlement": "",
        }, start + timedelta(milliseconds=1)),
        envelope(account_id, "message.delivery_reported", message_id, {
            "carrier_status": "DELIVRD", "status": "delivered", "error_code": "",
            "settlement": "capture",
        }, start + timedelta(milliseconds=2)),
    ]


def rows(container: Container, query: str, *params: object) -> list[tuple[Any, ...]]:
    with container.pool.connection() as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]
