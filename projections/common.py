"""Helpers shared by the read models: message statuses, batched writes, cursors.

Every projection writes a batch with a handful of statements whatever its
size: rows are folded in Python first, then sent as parallel arrays and
expanded server-side with `unnest`, which is one round trip and one plan for
5,000 rows instead of 5,000 of each.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any
from uuid import UUID

from psycopg import Cursor, postgres, sql
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.rows import dict_row, tuple_row

from domain.message import Message
from domain.messaging.status import FINAL_STATUSES, MessageStatus
from domain.published import CONTRACTS, Envelope

STATUSES: tuple[str, ...] = tuple(str(status) for status in MessageStatus)
FINAL: frozenset[str] = frozenset(str(status) for status in FINAL_STATUSES)
DELIVERED = str(MessageStatus.DELIVERED)

# Type names from the published contract itself, so a renamed type fails here.
ACCEPTED = CONTRACTS[Message.Accepted].type
SUBMITTED = CONTRACTS[Message.SubmittedToCarrier].type
REJECTED = CONTRACTS[Message.CarrierRejected].type
REPORTED = CONTRACTS[Message.DeliveryReported].type
EXPIRED = CONTRACTS[Message.Expired].type
CANCELLED = CONTRACTS[Message.Cancelled].type
MESSAGE_TYPES = frozenset({ACCEPTED, SUBMITTED, REJECTED, REPORTED, EXPIRED, CANCELLED})

_STATUS_AFTER = {
    ACCEPTED: str(MessageStatus.QUEUED),
    SUBMITTED: str(MessageStatus.SENT),
    REJECTED: str(MessageStatus.REJECTED),
    EXPIRED: str(MessageStatus.EXPIRED),
    CANCELLED: str(MessageStatus.CANCELLED),
}

MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 500

AnyCursor = Cursor[Any]


def status_after(envelope: Envelope) -> str:
    """The message status an event leaves behind; a delivery report says it."""
    if envelope.type == REPORTED:
        return str(envelope.data["status"])
    if envelope.type == ACCEPTED and envelope.data.get("scheduled_at"):
        return str(MessageStatus.SCHEDULED)
    return _STATUS_AFTER[envelope.type]


def settlement_of(envelope: Envelope) -> str:
    """The transition's settlement: capture, release or empty (also for the
    accepted event, which settles nothing)."""
    return str(envelope.data.get("settlement") or "")


def uuid_or_none(value: object) -> UUID | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, UUID) else parse_uuid(str(value))


@lru_cache(maxsize=4096)
def parse_uuid(text: str) -> UUID:
    """For ids that repeat, as a campaign's id does in every message of the
    campaign: a lookup is several times cheaper than a parse."""
    return UUID(text)


def moved_before(
    envelopes: Sequence[Envelope], moves: Callable[[Envelope], bool] = lambda _: True,
) -> list[UUID]:
    """Messages that `envelopes` move (those `moves` picks) but did not accept:
    their rows were written by an earlier batch and must be read first.

    A section of a bulk holds nothing but acceptances, so it is checked for
    that before any set of ids is built.
    """
    moved = [e for e in envelopes if e.type != ACCEPTED and moves(e)]
    if not moved:
        return []
    accepted_here = {e.aggregate_id for e in envelopes if e.type == ACCEPTED}
    return list({e.aggregate_id for e in moved} - accepted_here)


def utc(moment: datetime) -> datetime:
    """Days and months are UTC ones; a naive time is taken to be UTC already."""
    if moment.tzinfo is UTC:  # what envelopes carry: no conversion to make
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_day(value: date | datetime | None) -> date | None:
    if value is None or type(value) is date:
        return value
    assert isinstance(value, datetime)
    return utc(value).date()


def reader(cursor: AnyCursor) -> Cursor[tuple[Any, ...]]:
    """A tuple cursor on the caller's connection (and so its transaction):
    the caller's cursor may have any row factory."""
    return cursor.connection.cursor(row_factory=tuple_row)


def dict_reader(cursor: AnyCursor) -> Cursor[dict[str, Any]]:
    return cursor.connection.cursor(row_factory=dict_row)


# Below this many rows a batch goes as one array per column through
# `unnest`: one statement. From it on, the rows stream in with binary COPY,
# which psycopg formats in C without escaping or parsing text: straight into
# the table when the write is a plain INSERT, else into a temporary staging
# table from which one INSERT ... SELECT ... ON CONFLICT moves them. Dumping
# Python lists as arrays costs more per row than the whole COPY path once a
# batch is large.
COPY_MIN_ROWS = 64


@dataclass(frozen=True, slots=True)
class Upsert:
    """How to write rows into `table`: INSERT, or upsert on `conflict`."""

    table: str
    columns: tuple[tuple[str, str], ...]
    unnest: sql.Composed
    create_stage: sql.Composed
    copy_stage: sql.Composed
    from_stage: sql.Composed
    #: A plain INSERT (no conflict target): large batches COPY straight in.
    copy_table: sql.Composed | None
    #: The binary COPY's column types (a jsonb value is JSON text, see
    #: JsonTextBinaryDumper).
    copy_types: tuple[str, ...]


def unnest_upsert(
    table: str,
    columns: Sequence[tuple[str, str]],
    conflict: Sequence[str] | None,
    *,
    add: Iterable[str] = (),
) -> Upsert:
    """INSERT ... [ON CONFLICT ...] of rows, from arrays or a staging table.

    With `conflict` set, existing rows take the new values, except columns in
    `add`, which are increments added to the stored value. Names and types
    are constants of the calling module, composed as identifiers; values are
    only ever parameters or COPY data.
    """
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
    arrays = sql.SQL(", ").join(
        sql.SQL("%b::{}[]").format(sql.SQL(pg_type)) for _, pg_type in columns
    )
    stage = sql.Identifier(f"stage_{table}")
    on_conflict = _on_conflict(table, columns, conflict, set(add))
    return Upsert(
        table=table,
        columns=tuple(columns),
        unnest=sql.SQL("INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays})").format(
            table=sql.Identifier(table), cols=names, arrays=arrays
        ) + on_conflict,
        # ON COMMIT DELETE ROWS keeps the table per connection, empty between
        # transactions; IF NOT EXISTS because a rolled-back transaction may
        # have taken its creation with it.
        create_stage=sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {stage} ({defs}) ON COMMIT DELETE ROWS"
        ).format(stage=stage, defs=sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type))
            for name, pg_type in columns
        )),
        copy_stage=sql.SQL("COPY {stage} ({cols}) FROM STDIN (FORMAT BINARY)").format(
            stage=stage, cols=names
        ),
        from_stage=sql.SQL(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}{conflict}; TRUNCATE {stage}"
        ).format(table=sql.Identifier(table), cols=names, stage=stage, conflict=on_conflict),
        copy_table=None if conflict is not None else sql.SQL(
            "COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)"
        ).format(table=sql.Identifier(table), cols=names),
        copy_types=tuple(pg_type for _, pg_type in columns),
    )


def _on_conflict(
    table: str, columns: Sequence[tuple[str, str]], conflict: Sequence[str] | None,
    additive: set[str],
) -> sql.Composable:
    if conflict is None:
        return sql.SQL("")
    updates = [
        sql.SQL("{c} = {t}.{c} + excluded.{c}" if name in additive else "{c} = excluded.{c}")
        .format(c=sql.Identifier(name), t=sql.Identifier(table))
        for name, _ in columns
        if name not in conflict
    ]
    return sql.SQL(" ON CONFLICT ({keys}) DO UPDATE SET {updates}").format(
        keys=sql.SQL(", ").join(sql.Identifier(key) for key in conflict),
        updates=sql.SQL(", ").join(updates),
    )


def write_rows(
    cursor: AnyCursor,
    upsert: Upsert,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Write `rows` (dicts keyed by column name) through `upsert`."""
    if not rows:
        return
    assert len(columns) >= 2  # so that the itemgetter below returns tuples
    values_of = itemgetter(*(name for name, _ in columns))  # one C call per row
    write_values(cursor, upsert, [values_of(row) for row in rows])


def write_values(cursor: AnyCursor, upsert: Upsert, rows: Sequence[Sequence[Any]]) -> None:
    """Write `rows`, each a sequence of values in `upsert.columns` order.

    A jsonb value is JSON text, already encoded (or None)."""
    if not rows:
        return
    if len(rows) < COPY_MIN_ROWS:
        cursor.execute(upsert.unnest, [list(column) for column in zip(*rows, strict=True)])
        return
    direct = upsert.copy_table
    if direct is None:
        cursor.execute(upsert.create_stage)
    # Only by oid: set_types below picks it for jsonb columns, while a jsonb
    # parameter of any other statement on this cursor is dumped as before.
    cursor.adapters.register_dumper(None, JsonTextBinaryDumper)
    with cursor.copy(upsert.copy_stage if direct is None else direct) as copy:
        copy.set_types(upsert.copy_types)
        for row in rows:
            copy.write_row(row)
    if direct is None:
        cursor.execute(upsert.from_stage)


class JsonTextBinaryDumper(Dumper):
    """JSON text as jsonb's binary form: a version byte, then the text.

    psycopg's own jsonb dumper takes a Python object and would encode our
    already-encoded JSON a second time."""

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()


def check_page_size(page_size: int) -> None:
    if isinstance(page_size, bool) or not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}")


def encode_cursor(key: Mapping[str, Any]) -> str:
    """An opaque, URL-safe token for a row's sort key."""
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, fields: Sequence[str]) -> dict[str, Any]:
    """The key a token carries; ValueError for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValueError("invalid cursor") from error
    if not isinstance(key, dict) or sorted(key) != sorted(fields):
        raise ValueError("invalid cursor")
    return key


def where(conditions: Sequence[sql.Composable]) -> sql.Composable:
    return sql.SQL(" AND ").join(conditions)


def keyset_page(
    cursor: AnyCursor,
    *,
    table: str,
    columns: sql.Composable,
    conditions: Sequence[sql.Composable],
    params: Sequence[Any],
    key: tuple[str, str],
    after: Sequence[Any] | None,
    page_size: int,
) -> tuple[list[dict[str, Any]], bool, int]:
    """One page, newest key first, after the key `after` (exclusive):
    (rows, has_more, total matching `conditions`).

    The page starts strictly after the last key the caller saw, not at an
    offset, so rows that arrive or move meanwhile never shift a page: a new
    row with a greater key sorts before the cursor and one with a smaller
    key is met in its turn. The keys are immutable, unique per row.
    """
    # Qualified: the select list may alias a key (message_id::text AS
    # message_id), and ORDER BY must use the indexed column, not the alias.
    first, second = (sql.Identifier(table, name) for name in key)
    with dict_reader(cursor) as read:
        counted = read.execute(
            sql.SQL("SELECT count(*) AS total FROM {} WHERE {}").format(
                sql.Identifier(table), where(conditions)
            ),
            params,
        ).fetchone()
        total = int(counted["total"]) if counted else 0
        page_conditions, page_params = list(conditions), list(params)
        if after is not None:
            page_conditions.append(
                sql.SQL("({}, {}) < (%s, %s)").format(first, second)
            )
            page_params += after
        query = sql.SQL(
            "SELECT {cols} FROM {table} WHERE {where} ORDER BY {a} DESC, {b} DESC LIMIT %s"
        ).format(
            cols=columns, table=sql.Identifier(table), where=where(page_conditions),
            a=first, b=second,
        )
        rows = read.execute(query, [*page_params, page_size + 1]).fetchall()
    return rows[:page_size], len(rows) > page_size, total
