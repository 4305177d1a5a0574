"""Delivery statistics: messages per account, day, country and status.

Counts are kept incrementally: a message that changes status leaves its old
bucket and joins its new one. The bucket of a message (its acceptance day and
country) and its current status are kept in a small table of our own, which
also holds each delivered message's submit-to-delivery latency so that the
median is computed at query time. A batch is folded in Python into one net
increment per bucket, written with one additive upsert; buckets that fall to
zero are deleted so that the table depends only on the events, not on how
they were batched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from psycopg import sql

from domain.published import Envelope
from projections.common import (
    ACCEPTED,
    DELIVERED,
    MESSAGE_TYPES,
    STATUSES,
    SUBMITTED,
    AnyCursor,
    as_day,
    dict_reader,
    moved_before,
    reader,
    status_after,
    unnest_upsert,
    utc,
    uuid_or_none,
    where,
    write_rows,
)

COUNTS = "rm_dlr_stats"
MESSAGES = "rm_dlr_stats_messages"

COUNT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("account_id", "text"),
    ("sandbox", "boolean"),
    ("day", "date"),
    ("country", "text"),
    ("status", "text"),
    ("messages", "bigint"),
)
_BUCKET = ("account_id", "sandbox", "day", "country", "status")
MESSAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("message_id", "uuid"),
    ("account_id", "text"),
    ("sandbox", "boolean"),
    ("day", "date"),
    ("country", "text"),
    ("campaign_id", "uuid"),
    ("status", "text"),
    ("submitted_at", "timestamptz"),
    ("latency_ms", "bigint"),
)
_MESSAGE_NAMES = [name for name, _ in MESSAGE_COLUMNS]
_COUNT_UPSERT = unnest_upsert(COUNTS, COUNT_COLUMNS, _BUCKET, add=("messages",))
_MESSAGE_UPSERT = unnest_upsert(MESSAGES, MESSAGE_COLUMNS, ("message_id",))
# A message's row is created by its acceptance, handed over once: a plain
# INSERT, which a large batch COPYs straight in.
_MESSAGE_INSERT = unnest_upsert(MESSAGES, MESSAGE_COLUMNS, None)
_DROP_EMPTY = sql.SQL(
    "DELETE FROM rm_dlr_stats AS s USING unnest("
    "%s::text[], %s::boolean[], %s::date[], %s::text[], %s::text[]) AS b({cols})"
    " WHERE s.messages = 0 AND (s.account_id, s.sandbox, s.day, s.country, s.status)"
    " = (b.account_id, b.sandbox, b.day, b.country, b.status)"
).format(cols=sql.SQL(", ").join(sql.Identifier(name) for name in _BUCKET))
_SELECT_TOUCHED = sql.SQL(
    "SELECT {cols} FROM rm_dlr_stats_messages WHERE message_id = ANY(%s)"
).format(
    cols=sql.SQL(", ").join(sql.Identifier(name) for name in _MESSAGE_NAMES)
)

_DDL = """
CREATE TABLE IF NOT EXISTS rm_dlr_stats (
    account_id text NOT NULL,
    sandbox boolean NOT NULL,
    day date NOT NULL,
    country text NOT NULL,
    status text NOT NULL,
    messages bigint NOT NULL,
    PRIMARY KEY (account_id, sandbox, day, country, status)
);
CREATE TABLE IF NOT EXISTS rm_dlr_stats_messages (
    message_id uuid PRIMARY KEY,
    account_id text NOT NULL,
    sandbox boolean NOT NULL,
    day date NOT NULL,
    country text NOT NULL,
    campaign_id uuid,
    status text NOT NULL,
    submitted_at timestamptz,
    latency_ms bigint
);
-- The median and the per-campaign figures read messages by account and day
-- range, or by campaign.
CREATE INDEX IF NOT EXISTS rm_dlr_stats_messages_day_idx
    ON rm_dlr_stats_messages (account_id, day);
CREATE INDEX IF NOT EXISTS rm_dlr_stats_messages_campaign_idx
    ON rm_dlr_stats_messages (campaign_id) WHERE campaign_id IS NOT NULL;
"""

Row = dict[str, Any]
Bucket = tuple[str, bool, date, str, str]


class DlrStats:
    name = "dlr_stats"
    tables: tuple[str, ...] = (COUNTS, MESSAGES)
    event_types = MESSAGE_TYPES
    schema_version = 1

    def ddl(self) -> str:
        return _DDL

    def apply(self, cursor: AnyCursor, envelopes: Sequence[Envelope]) -> None:
        earlier = _load_earlier(cursor, envelopes)
        new: dict[UUID, Row] = {}
        deltas: dict[Bucket, int] = defaultdict(int)
        for envelope in envelopes:
            if envelope.type == ACCEPTED:
                row = new[envelope.aggregate_id] = _accepted_row(envelope)
                deltas[_bucket(row)] += 1
                continue
            moved = new.get(envelope.aggregate_id) or earlier.get(envelope.aggregate_id)
            if moved is None:  # its acceptance never reached us; nothing to move
                continue
            deltas[_bucket(moved)] -= 1
            _apply_transition(moved, envelope)
            deltas[_bucket(moved)] += 1
        write_rows(cursor, _MESSAGE_INSERT, MESSAGE_COLUMNS, list(new.values()))
        write_rows(cursor, _MESSAGE_UPSERT, MESSAGE_COLUMNS, list(earlier.values()))
        changed = [(*bucket, delta) for bucket, delta in deltas.items() if delta != 0]
        if changed:
            columns = list(zip(*changed, strict=True))
            cursor.execute(_COUNT_UPSERT.unnest, [list(values) for values in columns])
            cursor.execute(_DROP_EMPTY, [list(values) for values in columns[:5]])


def _load_earlier(cursor: AnyCursor, envelopes: Sequence[Envelope]) -> dict[UUID, Row]:
    wanted = moved_before(envelopes)
    rows: dict[UUID, Row] = {}
    if wanted:
        with reader(cursor) as read:
            for values in read.execute(_SELECT_TOUCHED, (wanted,)):
                row = dict(zip(_MESSAGE_NAMES, values, strict=True))
                rows[row["message_id"]] = row
    return rows


def _accepted_row(envelope: Envelope) -> Row:
    data = envelope.data
    return {
        "message_id": envelope.aggregate_id,
        "account_id": envelope.account_id,
        "sandbox": bool(data["sandbox"]),
        "day": utc(envelope.occurred_at).date(),
        "country": data["country"],
        "campaign_id": uuid_or_none(data["campaign_id"]),
        "status": status_after(envelope),
        "submitted_at": None,
        "latency_ms": None,
    }


def _apply_transition(row: Row, envelope: Envelope) -> None:
    status = status_after(envelope)
    if envelope.type == SUBMITTED:
        row["submitted_at"] = envelope.occurred_at
    if status == DELIVERED and row["status"] != DELIVERED and row["submitted_at"] is not None:
        elapsed = envelope.occurred_at - row["submitted_at"]
        row["latency_ms"] = max(0, round(elapsed.total_seconds() * 1000))
    row["status"] = status


def _bucket(row: Row) -> Bucket:
    return (row["account_id"], row["sandbox"], row["day"], row["country"], row["status"])


# Query for the HTTP layer --------------------------------------------------


def dlr_stats(
    cursor: AnyCursor,
    account_id: str,
    *,
    from_date: date | datetime | None = None,
    to_date: date | datetime | None = None,
    country: str | None = None,
    campaign_id: str | UUID | None = None,
    sandbox: bool = False,
) -> dict[str, Any]:
    """Counts per status, delivery rate and median latency, with a per-day,
    per-country breakdown. Days are UTC days of acceptance, both bounds
    inclusive (a datetime bound counts by its UTC date)."""
    conditions: list[sql.Composable] = [sql.SQL("account_id = %s"), sql.SQL("sandbox = %s")]
    params: list[Any] = [account_id, sandbox]
    for condition, value in (
        (sql.SQL("day >= %s"), as_day(from_date)),
        (sql.SQL("day <= %s"), as_day(to_date)),
        (sql.SQL("country = %s"), country),
    ):
        if value is not None:
            conditions.append(condition)
            params.append(value)
    if campaign_id is not None:
        try:
            campaign = campaign_id if isinstance(campaign_id, UUID) else UUID(campaign_id)
        except ValueError as error:
            raise ValueError("campaign_id must be a UUID") from error
        conditions.append(sql.SQL("campaign_id = %s"))
        params.append(campaign)
    # Per-campaign figures come from the per-message table; the others from
    # the pre-counted buckets, which stay small whatever the traffic.
    counted = sql.SQL(
        "SELECT day, country, status, count(*) AS messages FROM rm_dlr_stats_messages"
        " WHERE {} GROUP BY day, country, status"
        if campaign_id is not None
        else "SELECT day, country, status, messages FROM rm_dlr_stats WHERE {}"
    ).format(where(conditions))
    median = sql.SQL(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS median"
        " FROM rm_dlr_stats_messages WHERE {} AND latency_ms IS NOT NULL"
    ).format(where(conditions))
    with dict_reader(cursor) as read:
        buckets = read.execute(counted, params).fetchall()
        found = read.execute(median, params).fetchone()
    median_ms = found["median"] if found else None
    return _summarise(buckets, median_ms)


def _summarise(buckets: list[dict[str, Any]], median_ms: float | None) -> dict[str, Any]:
    totals = dict.fromkeys(STATUSES, 0)
    cells: dict[tuple[date, str], dict[str, int]] = {}
    for bucket in buckets:
        count = int(bucket["messages"])
        totals[bucket["status"]] += count
        key = (bucket["day"], bucket["country"])
        cells.setdefault(key, dict.fromkeys(STATUSES, 0))[bucket["status"]] += count
    breakdown = [
        {
            "day": day,
            "country": country,
            "counts": counts,
            "total": sum(counts.values()),
            "delivery_rate": delivery_rate(counts),
        }
        for (day, country), counts in sorted(cells.items())
    ]
    return {
        "totals": totals,
        "total": sum(totals.values()),
        "delivery_rate": delivery_rate(totals),
        "median_delivery_ms": None if median_ms is None else round(median_ms),
        "breakdown": breakdown,
    }


def delivery_rate(counts: dict[str, int]) -> str | None:
    """delivered / (delivered + failed + expired + rejected), 4 places, or None
    before any of those outcomes. Cancelled messages never reached a carrier,
    so they say nothing about delivery."""
    finals = sum(counts[status] for status in ("delivered", "failed", "expired", "rejected"))
    if finals == 0:
        return None
    rate = Decimal(counts["delivered"]) / Decimal(finals)
    return str(rate.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))
