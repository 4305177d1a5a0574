"""From published envelopes to queued deliveries, in the consumer's transaction.

`WebhookIntake` is applied by the projection runner (adapters/projector/
runner.py): one PostgreSQL transaction writes a batch's webhook events and
their delivery rows together with the consumer's position, then the batch is
acked. A crash before the commit redelivers the batch and writes it once;
after it, the position skips what was already written. Event ids derive from
envelope ids, so nothing a crash repeats can carry a new id.

Events are kept (for replay) for every account that has a webhook endpoint,
active or not, and for messages sent with a callback_url; a delivery row is
written for each active endpoint subscribed to the event, and one for the
message's callback_url for its status events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import Cursor

from domain.published import Envelope
from domain.webhooks.catalogue import (
    ACCEPTED,
    CONSUMED_TYPES,
    MESSAGE_STATUS_EVENTS,
    MESSAGE_TYPES,
    MessageFacts,
    WebhookEvent,
    message_facts,
    subscribes,
    to_webhook_event,
)

NAME = "webhooks"
NOTIFY_CHANNEL = "webhook_deliveries"

_INSERT_MESSAGES = """
    INSERT INTO webhook_messages
        (message_id, account_id, destination, client_ref, campaign_id, callback_url)
    SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::uuid[], %s::text[])
    ON CONFLICT (message_id) DO NOTHING
"""
_INSERT_EVENTS = """
    INSERT INTO webhook_events
        (id, envelope_id, account_id, type, subject, callback_url, occurred_at, body)
    SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::text[], %s::uuid[],
                         %s::text[], %s::timestamptz[], %s::bytea[])
    ON CONFLICT DO NOTHING
    RETURNING seq, id
"""
INSERT_DELIVERIES = """
    INSERT INTO webhook_deliveries
        (event_seq, account_id, endpoint_id, kind, url, target, subject)
    SELECT * FROM unnest(%s::bigint[], %s::text[], %s::uuid[], %s::text[], %s::text[],
                         %s::text[], %s::uuid[])
"""


@dataclass(frozen=True, slots=True)
class EndpointRow:
    id: UUID
    account_id: str
    url: str
    events: list[str]
    active: bool


@dataclass
class IntakeStats:
    events: int = 0
    deliveries: int = 0


class WebhookIntake:
    """A consumer of the published log, shaped like a projection so that the
    projection runner applies it; it is not rebuildable (that would post
    every webhook again) and so is not in the projection registry."""

    name = NAME
    event_types = CONSUMED_TYPES
    tables: tuple[str, ...] = ()
    schema_version = 1  # its tables are migrations', never rebuilt

    def __init__(self, name: str = NAME) -> None:
        self.name = name  # the consumer's position and durable name
        self.stats = IntakeStats()

    def ddl(self) -> str:
        return ""  # the tables are migration 30's

    def apply(self, cursor: Cursor[Any], envelopes: Sequence[Envelope]) -> None:
        facts = _remember_messages(cursor, envelopes)
        events = [
            event for envelope in envelopes
            if (event := to_webhook_event(envelope, facts)) is not None
        ]
        if not events:
            return
        endpoints = _endpoints_of(cursor, {event.account_id for event in events})
        kept = [e for e in events if e.account_id in endpoints or e.callback_url]
        seqs = _store_events(cursor, kept)
        rows = delivery_rows(kept, seqs, endpoints)
        if rows:
            insert_deliveries(cursor, rows)
        self.stats.events += len(kept)
        self.stats.deliveries += len(rows)


DeliveryRow = tuple[int, str, UUID | None, str, str, str, UUID | None]


def delivery_rows(
    events: Sequence[WebhookEvent], seqs: dict[UUID, int],
    endpoints: dict[str, list[EndpointRow]],
) -> list[DeliveryRow]:
    rows: list[DeliveryRow] = []
    for event in events:
        seq = seqs.get(event.id)
        if seq is None:
            continue  # stored by an earlier delivery of the same envelope
        for endpoint in endpoints.get(event.account_id, ()):
            if endpoint.active and subscribes(endpoint.events, event.type):
                rows.append((seq, event.account_id, endpoint.id, "event", endpoint.url,
                             str(endpoint.id), event.subject))
        if event.callback_url and event.type in MESSAGE_STATUS_EVENTS:
            rows.append((seq, event.account_id, None, "callback", event.callback_url,
                         f"callback:{event.callback_url}", event.subject))
    return rows


def insert_deliveries(cursor: Cursor[Any], rows: Sequence[DeliveryRow]) -> None:
    """Queue delivery rows; the senders hear of them when the transaction commits."""
    columns = list(zip(*rows, strict=True))
    cursor.execute(INSERT_DELIVERIES, [list(column) for column in columns])
    cursor.execute(f"NOTIFY {NOTIFY_CHANNEL}")


def _remember_messages(
    cursor: Cursor[Any], envelopes: Sequence[Envelope]
) -> dict[UUID, MessageFacts]:
    """Each message's facts: from this batch's accepted envelopes (stored for
    the message's later events), else from earlier batches."""
    facts: dict[UUID, MessageFacts] = {}
    for envelope in envelopes:
        if envelope.type == ACCEPTED:
            facts[envelope.aggregate_id] = message_facts(envelope)
    if facts:
        ids = list(facts)
        cursor.execute(_INSERT_MESSAGES, (
            ids,
            [facts[i].account_id for i in ids],
            [facts[i].destination for i in ids],
            [facts[i].client_ref for i in ids],
            [facts[i].campaign_id for i in ids],
            [facts[i].callback_url for i in ids],
        ))
    wanted = list({
        e.aggregate_id for e in envelopes
        if e.type in MESSAGE_TYPES and e.type != ACCEPTED and e.aggregate_id not in facts
    })
    if wanted:
        cursor.execute(
            "SELECT message_id, account_id, destination, client_ref, campaign_id, callback_url"
            " FROM webhook_messages WHERE message_id = ANY(%s)",
            (wanted,),
        )
        for message_id, account_id, destination, client_ref, campaign_id, url in cursor:
            facts[message_id] = MessageFacts(
                account_id, destination, client_ref,
                None if campaign_id is None else str(campaign_id), url,
            )
    return facts


def _endpoints_of(cursor: Cursor[Any], accounts: set[str]) -> dict[str, list[EndpointRow]]:
    cursor.execute(
        "SELECT id, account_id, url, events, active FROM webhook_endpoints"
        " WHERE account_id = ANY(%s) ORDER BY created_at, id",
        (sorted(accounts),),
    )
    found: dict[str, list[EndpointRow]] = defaultdict(list)
    for endpoint_id, account_id, url, events, active in cursor:
        found[account_id].append(EndpointRow(endpoint_id, account_id, url, list(events), active))
    return found


def _store_events(cursor: Cursor[Any], events: Sequence[WebhookEvent]) -> dict[UUID, int]:
    if not events:
        return {}
    cursor.execute(_INSERT_EVENTS, (
        [e.id for e in events],
        [e.envelope_id for e in events],
        [e.account_id for e in events],
        [e.type for e in events],
        [e.subject for e in events],
        [e.callback_url for e in events],
        [e.created_at for e in events],
        [e.body() for e in events],
    ))
    return {event_id: int(seq) for seq, event_id in cursor.fetchall()}
