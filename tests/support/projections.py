"""Envelopes from the real aggregates, and a way to apply them in batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
import psycopg

from adapters.bootstrap.container import Container
from adapters.eventstore.envelopes import envelopes_of
from adapters.jetstream.batches import decode_envelope, encode_envelope
from domain.campaign import Campaign
from domain.message import Acceptance, Message
from domain.messaging.recipient import Recipient
from domain.published import Envelope, publish
from domain.wallet import Wallet
from projections.base import Projection
from projections.registry import ALL_PROJECTIONS

# One counter for the whole run: envelope ids are notification ids, unique
# and increasing, and some tables key on them. It starts far above any id the
# real event store of this run's database hands out (integration tests share
# the database and its read models), so the two never collide.
_NOTIFICATION_IDS = itertools.count(10**12)

BASE_TIME = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def new_account() -> str:
    return f"acct_{uuid4().hex[:12]}"


def record(*aggregates: Wallet | Message | Campaign, at: datetime | None = None) -> list[Envelope]:
    """Publish the aggregates' pending events with fresh increasing ids;
    `at` overrides every event's time (the domain stamps them with now)."""
    envelopes = []
    for aggregate in aggregates:
        for event in aggregate.collect_events():
            envelope = publish(event, next(_NOTIFICATION_IDS))
            if envelope is None:
                continue
            if at is not None:
                envelope = msgspec.structs.replace(envelope, occurred_at=at)
            # As the runner gets them: through the wire format and back.
            envelopes.append(decode_envelope(encode_envelope(envelope)))
    return envelopes


def accept(
    account_id: str,
    *,
    destination: str = "+447700900123",
    country: str = "GB",
    price_micros: int = 35_000,
    segments: int = 1,
    campaign_id: UUID | None = None,
    client_ref: str | None = None,
    sandbox: bool = False,
    wallet_id: UUID | None = None,
    at: datetime = BASE_TIME,
    message_id: UUID | None = None,
) -> Message:
    recipient = Recipient(
        message_id=message_id or uuid4(),
        destination=destination,
        country=country,
        body="hello",
        encoding="GSM7",
        segments=segments,
        price_micros=0 if sandbox else price_micros,
    )
    terms = Acceptance(
        account_id=account_id,
        wallet_id=wallet_id or uuid4(),
        campaign_id=campaign_id,
        reservation_id=str(campaign_id or recipient.message_id),
        sender="Acme",
        currency="GBP",
        client_ref=client_ref,
        sandbox=sandbox,
    )
    return Message.accept(recipient, terms, timestamp=at)


def apply(
    conn: psycopg.Connection[Any],
    projection: Projection,
    envelopes: Iterable[Envelope],
    batch_size: int | None = None,
) -> None:
    """What the runner does: matching envelopes, in id order, in batches,
    one transaction per batch."""
    relevant = sorted(
        (e for e in envelopes if e.type in projection.event_types), key=lambda e: e.id
    )
    size = batch_size or max(len(relevant), 1)
    for start in range(0, len(relevant), size):
        with conn.transaction(), conn.cursor() as cursor:
            projection.apply(cursor, relevant[start : start + size])


def apply_all(
    conn: psycopg.Connection[Any],
    projections: Sequence[Projection],
    envelopes: Iterable[Envelope],
    batch_size: int | None = None,
) -> None:
    envelopes = list(envelopes)
    for projection in projections:
        apply(conn, projection, envelopes, batch_size)


NOTIFICATION_PAGE = 10_000


def project_everything(container: Container) -> None:
    """Every projection rebuilt in process from the whole event log, at once:
    the read API's tests read what they just wrote without a relay."""
    notifications: list[Any] = []
    start = 1
    while True:
        page = container.app.recorder.select_notifications(start, NOTIFICATION_PAGE)
        notifications.extend(page)
        if len(page) < NOTIFICATION_PAGE:
            break
        start = page[-1].id + 1
    envelopes = envelopes_of(container.app.mapper, notifications)
    with container.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        for p in ALL_PROJECTIONS:
            cur.execute(f"TRUNCATE {', '.join(p.tables)}")
            p.apply(cur, [e for e in envelopes if e.type in p.event_types])
