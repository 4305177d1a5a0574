"""Usage: per account, month and destination country, what was sent and paid.

Messages and segments count when a live message is accepted; its price
counts when it is captured (a transition whose `settlement` is "capture"),
in the month of its acceptance, so that a month's cost is what the messages
sent that month cost. Sandbox messages cost nothing and are not usage.

Capture needs the month, country and price of a message accepted in an
earlier batch: a small table keeps them for live, priced messages until their
price is settled either way, so it holds only the messages in flight.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.published import Envelope
from projections.common import (
    ACCEPTED,
    MESSAGE_TYPES,
    AnyCursor,
    dict_reader,
    moved_before,
    reader,
    settlement_of,
    unnest_upsert,
    utc,
    write_rows,
)

TOTALS = "rm_usage"
PENDING = "rm_usage_pending"

TOTAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("account_id", "text"),
    ("month", "text"),
    ("country", "text"),
    ("messages", "bigint"),
    ("segments", "bigint"),
    ("cost_micros", "bigint"),
)
_TOTAL_KEY = ("account_id", "month", "country")
PENDING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("message_id", "uuid"),
    ("account_id", "text"),
    ("month", "text"),
    ("country", "text"),
    ("price_micros", "bigint"),
)
_TOTAL_UPSERT = unnest_upsert(
    TOTALS, TOTAL_COLUMNS, _TOTAL_KEY, add=("messages", "segments", "cost_micros")
)
_PENDING_INSERT = unnest_upsert(PENDING, PENDING_COLUMNS, None)
_SELECT_PENDING = (
    "SELECT message_id, account_id, month, country, price_micros FROM rm_usage_pending"
    " WHERE message_id = ANY(%s)"
)
_DELETE_PENDING = "DELETE FROM rm_usage_pending WHERE message_id = ANY(%s)"

_DDL = """
CREATE TABLE IF NOT EXISTS rm_usage (
    account_id text NOT NULL,
    month text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    country text NOT NULL,
    messages bigint NOT NULL,
    segments bigint NOT NULL,
    cost_micros bigint NOT NULL,
    PRIMARY KEY (account_id, month, country)
);
CREATE TABLE IF NOT EXISTS rm_usage_pending (
    message_id uuid PRIMARY KEY,
    account_id text NOT NULL,
    month text NOT NULL,
    country text NOT NULL,
    price_micros bigint NOT NULL
);
"""

Key = tuple[str, str, str]


class Usage:
    name = "usage"
    tables: tuple[str, ...] = (TOTALS, PENDING)
    event_types = MESSAGE_TYPES
    schema_version = 1

    def ddl(self) -> str:
        return _DDL

    def apply(self, cursor: AnyCursor, envelopes: Sequence[Envelope]) -> None:
        stored = _load_pending(cursor, envelopes)
        pending = dict(stored)
        added: dict[UUID, dict[str, Any]] = {}
        deltas: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
        for envelope in envelopes:
            data = envelope.data
            if envelope.type == ACCEPTED:
                if data["sandbox"]:
                    continue
                month = _month(envelope.occurred_at)
                delta = deltas[(envelope.account_id, month, data["country"])]
                delta[0] += 1
                delta[1] += int(data["segments"])
                if int(data["price_micros"]) > 0:
                    added[envelope.aggregate_id] = pending[envelope.aggregate_id] = {
                        "message_id": envelope.aggregate_id,
                        "account_id": envelope.account_id,
                        "month": month,
                        "country": data["country"],
                        "price_micros": int(data["price_micros"]),
                    }
                continue
            settlement = settlement_of(envelope)
            message = pending.pop(envelope.aggregate_id, None) if settlement else None
            if message is None:  # nothing settled, or nothing was held
                continue
            added.pop(envelope.aggregate_id, None)
            if settlement == "capture":
                key = (message["account_id"], message["month"], message["country"])
                deltas[key][2] += message["price_micros"]
        settled = [message_id for message_id in stored if message_id not in pending]
        if settled:
            cursor.execute(_DELETE_PENDING, (settled,))
        write_rows(cursor, _PENDING_INSERT, PENDING_COLUMNS, list(added.values()))
        rows = [
            {"account_id": a, "month": m, "country": c,
             "messages": n, "segments": s, "cost_micros": cost}
            for (a, m, c), (n, s, cost) in deltas.items()
            if (n, s, cost) != (0, 0, 0)
        ]
        write_rows(cursor, _TOTAL_UPSERT, TOTAL_COLUMNS, rows)


def _month(moment: datetime) -> str:
    """"YYYY-MM" of the UTC month; formatted by hand, strftime costs several
    times more and runs once per message."""
    at = utc(moment)
    return f"{at.year:04d}-{at.month:02d}"


def _load_pending(cursor: AnyCursor, envelopes: Sequence[Envelope]) -> dict[UUID, dict[str, Any]]:
    """Held prices settled in this batch for messages accepted before it."""
    wanted = moved_before(envelopes, lambda e: bool(settlement_of(e)))
    rows: dict[UUID, dict[str, Any]] = {}
    if wanted:
        with reader(cursor) as read:
            for message_id, account_id, month, country, price_micros in read.execute(
                _SELECT_PENDING, (wanted,)
            ):
                rows[message_id] = {
                    "message_id": message_id, "account_id": account_id, "month": month,
                    "country": country, "price_micros": price_micros,
                }
    return rows


# Query for the HTTP layer --------------------------------------------------


def usage(cursor: AnyCursor, account_id: str, month: str | None = None) -> dict[str, Any]:
    """The month's usage (the current UTC month by default): totals and one
    entry per destination country, most expensive first."""
    if month is None:
        month = datetime.now(UTC).strftime("%Y-%m")
    else:
        try:
            month = datetime.strptime(month, "%Y-%m").strftime("%Y-%m")
        except ValueError as error:
            raise ValueError("month must be YYYY-MM") from error
    with dict_reader(cursor) as read:
        rows = read.execute(
            "SELECT country, messages, segments, cost_micros FROM rm_usage"
            " WHERE account_id = %s AND month = %s"
            " ORDER BY cost_micros DESC, messages DESC, country",
            (account_id, month),
        ).fetchall()
    by_country = [
        {
            "country": row["country"],
            "messages": int(row["messages"]),
            "segments": int(row["segments"]),
            "cost_micros": int(row["cost_micros"]),
        }
        for row in rows
    ]
    return {
        "month": month,
        "messages": sum(row["messages"] for row in by_country),
        "segments": sum(row["segments"] for row in by_country),
        "cost_micros": sum(row["cost_micros"] for row in by_country),
        "by_country": by_country,
    }
