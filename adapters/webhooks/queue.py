"""The delivery queue in PostgreSQL: claiming due deliveries and recording
what their attempts did.

A claim takes due deliveries with FOR UPDATE SKIP LOCKED, so any number of
sender processes share the queue, and leases them: a sender that dies
mid-attempt leaves `sending` rows whose lease runs out, and another sender
takes them again (the receiver then sees the same event id twice, never a
new one). A delivery is due only when no earlier delivery of the same
subject (message, campaign, wallet) to the same target is still pending, so
a receiver that was down gets each message's events in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row

# How many candidates a claim looks at per place it can fill: the rest of
# the batch may be held back by the per-target limit.
CANDIDATES_PER_SLOT = 4
MAX_CANDIDATES = 5000

_CANDIDATES = """
    SELECT d.id, d.target FROM webhook_deliveries d
    WHERE ((d.status = 'pending' AND d.next_attempt_at <= now())
           OR (d.status = 'sending' AND d.lease_until < now()))
      AND NOT (d.target = ANY(%(saturated)s))
      AND (d.kind IN ('callback', 'test') OR EXISTS (
            SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.active))
      AND (d.subject IS NULL OR NOT EXISTS (
            SELECT 1 FROM webhook_deliveries p
            WHERE p.target = d.target AND p.subject = d.subject AND p.id < d.id
              AND p.status IN ('pending', 'sending')))
    ORDER BY d.next_attempt_at, d.id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
"""
_LEASE = """
    UPDATE webhook_deliveries d
    SET status = 'sending', lease_until = now() + %(lease)s * interval '1 second',
        attempts = d.attempts + 1, updated_at = now()
    FROM webhook_events ev
    WHERE d.id = ANY(%(ids)s) AND ev.seq = d.event_seq
    RETURNING d.id, d.kind, d.url, d.target, d.attempts AS attempt, d.endpoint_id,
              d.account_id, ev.id AS event_id, ev.type AS event_type, ev.body
"""
_SECRETS = """
    SELECT id, account_id, active, secret,
           CASE WHEN previous_secret_until > now() THEN previous_secret END
    FROM webhook_endpoints
    WHERE id = ANY(%s) OR (account_id = ANY(%s) AND active)
    ORDER BY created_at, id
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    kind: str
    url: str
    target: str
    attempt: int  # this attempt's number, from 1
    endpoint_id: UUID | None
    account_id: str
    event_id: UUID
    event_type: str
    body: bytes
    secrets: tuple[str, ...]  # newest first; empty if nothing can sign it


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: int
    endpoint_id: UUID | None
    kind: str
    attempt: int
    status_code: int | None
    latency_ms: int
    error: str
    attempted_at: datetime
    status: str  # pending (to retry), succeeded or failed
    next_attempt_at: datetime | None
    gone: bool = False  # the endpoint answered 410


async def claim(
    conn: AsyncConnection[Any], limit: int, in_flight: Mapping[str, int], per_target_limit: int,
    lease_s: float,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries, at most `per_target_limit` in
    flight per target counting those already in `in_flight`."""
    assert limit >= 1 and per_target_limit >= 1
    saturated = [t for t, n in in_flight.items() if n >= per_target_limit]
    async with conn.transaction(), conn.cursor() as cursor, conn.cursor(
        row_factory=dict_row
    ) as leasing:
        await cursor.execute(_CANDIDATES, {
            "saturated": saturated,
            "limit": min(MAX_CANDIDATES, limit * CANDIDATES_PER_SLOT),
        })
        chosen: list[int] = []
        counts = dict(in_flight)
        for delivery_id, target in await cursor.fetchall():
            if len(chosen) >= limit:
                break
            if counts.get(target, 0) >= per_target_limit:
                continue
            counts[target] = counts.get(target, 0) + 1
            chosen.append(delivery_id)
        if not chosen:
            return []
        await leasing.execute(_LEASE, {"ids": chosen, "lease": lease_s})
        rows = await leasing.fetchall()
        secrets = await _secrets(cursor, rows)
    # Every column but the secrets, which come from the endpoints, by name.
    claimed = [
        Claimed(**row, secrets=secrets(row["endpoint_id"], row["account_id"])) for row in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


class _SecretBook:
    """The signing secrets of each endpoint, and each account's default: its
    oldest active endpoint, which signs the account's callback_url webhooks."""

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._by_endpoint: dict[UUID, tuple[str, ...]] = {}
        self._default: dict[str, tuple[str, ...]] = {}
        for endpoint_id, account_id, active, secret, previous in rows:
            secrets = (secret,) if previous is None else (secret, previous)
            self._by_endpoint[endpoint_id] = secrets
            if active:
                self._default.setdefault(account_id, secrets)

    def __call__(self, endpoint_id: UUID | None, account_id: str) -> tuple[str, ...]:
        if endpoint_id is not None:
            return self._by_endpoint.get(endpoint_id, ())
        return self._default.get(account_id, ())


async def _secrets(
    cursor: AsyncCursor[Any], rows: Sequence[Mapping[str, Any]]
) -> _SecretBook:
    endpoint_ids = sorted({row["endpoint_id"] for row in rows if row["endpoint_id"] is not None})
    callback_accounts = sorted({row["account_id"] for row in rows if row["endpoint_id"] is None})
    await cursor.execute(_SECRETS, (endpoint_ids, callback_accounts))
    return _SecretBook(await cursor.fetchall())
