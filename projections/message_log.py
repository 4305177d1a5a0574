"""The message log: one row per message, as the customer's reports show it.

A batch is folded in Python: the rows of messages that move in the batch but
were accepted before it are read in one query, every event of the batch is
applied to its message's row in memory, and all touched rows are written
back with one upsert. A message is therefore written once per batch however
many of its events the batch holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

import msgspec
from psycopg import sql

from domain.published import Envelope
from projections.common import (
    ACCEPTED,
    DELIVERED,
    FINAL,
    MESSAGE_TYPES,
    REJECTED,
    REPORTED,
    STATUSES,
    SUBMITTED,
    AnyCursor,
    check_page_size,
    decode_cursor,
    dict_reader,
    encode_cursor,
    keyset_page,
    moved_before,
    reader,
    settlement_of,
    status_after,
    unnest_upsert,
    uuid_or_none,
    write_values,
)

TABLE = "rm_message_log"

COLUMNS: tuple[tuple[str, str], ...] = (
    ("message_id", "uuid"),
    ("account_id", "text"),
    ("campaign_id", "uuid"),
    ("client_ref", "text"),
    ("destination", "text"),
    ("country", "text"),
    ("sender", "text"),
    ("encoding", "text"),
    ("segments", "integer"),
    ("price_micros", "bigint"),
    ("currency", "text"),
    ("sandbox", "boolean"),
    ("status", "text"),
    ("carrier", "text"),
    ("carrier_message_id", "text"),
    ("carrier_status", "text"),
    ("error_code", "text"),
    ("error_reason", "text"),
    ("charge", "text"),
    ("accepted_at", "timestamptz"),
    ("submitted_at", "timestamptz"),
    ("delivered_at", "timestamptz"),
    ("final_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("last_event_id", "bigint"),
    ("events", "jsonb"),
)
_NAMES = [name for name, _ in COLUMNS]
assert _NAMES[-1] == "events"  # _values puts the timeline, encoded, last
# A row's values in COLUMNS order, taken by name.
_FIELDS_BUT_EVENTS = itemgetter(*_NAMES[:-1])
_UPSERT = unnest_upsert(TABLE, COLUMNS, ("message_id",))
# A message's row is created by its acceptance, which is handed over once
# (base.Projection): a plain INSERT, which a large batch COPYs straight in.
_INSERT = unnest_upsert(TABLE, COLUMNS, None)
_SELECT_TOUCHED = sql.SQL("SELECT {cols} FROM {table} WHERE message_id = ANY(%s::uuid[])").format(
    cols=sql.SQL(", ").join(sql.Identifier(name) for name in _NAMES),
    table=sql.Identifier(TABLE),
)

_DDL = """
CREATE TABLE IF NOT EXISTS rm_message_log (
    message_id uuid PRIMARY KEY,
    account_id text NOT NULL,
    campaign_id uuid,
    client_ref text,
    destination text NOT NULL,
    country text NOT NULL,
    sender text NOT NULL,
    encoding text NOT NULL,
    segments integer NOT NULL,
    price_micros bigint NOT NULL,
    currency text NOT NULL,
    sandbox boolean NOT NULL,
    status text NOT NULL,
    carrier text NOT NULL DEFAULT '',
    carrier_message_id text NOT NULL DEFAULT '',
    carrier_status text NOT NULL DEFAULT '',
    error_code text NOT NULL DEFAULT '',
    error_reason text NOT NULL DEFAULT '',
    charge text NOT NULL,
    accepted_at timestamptz NOT NULL,
    submitted_at timestamptz,
    delivered_at timestamptz,
    final_at timestamptz,
    updated_at timestamptz NOT NULL,
    last_event_id bigint NOT NULL,
    events jsonb NOT NULL DEFAULT '[]'
);
-- The primary key serves (account_id, message_id) lookups: a message id
-- finds one row, whose account is then checked. Listing is newest first
-- within an account, with each filter leading to its own ordered range.
CREATE INDEX IF NOT EXISTS rm_message_log_account_idx
    ON rm_message_log (account_id, accepted_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS rm_message_log_status_idx
    ON rm_message_log (account_id, status, accepted_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS rm_message_log_destination_idx
    ON rm_message_log (account_id, destination, accepted_at DESC, message_id DESC);
CREATE INDEX IF NOT EXISTS rm_message_log_recipient_idx
    ON rm_message_log (destination, accepted_at DESC) WHERE NOT sandbox;
CREATE INDEX IF NOT EXISTS rm_message_log_campaign_idx
    ON rm_message_log (campaign_id, accepted_at DESC, message_id DESC)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS rm_message_log_client_ref_idx
    ON rm_message_log (account_id, client_ref)
    WHERE client_ref IS NOT NULL;
"""

_json = msgspec.json.Encoder()
Row = dict[str, Any]


class MessageLog:
    name = "message_log"
    tables: tuple[str, ...] = (TABLE,)
    event_types = MESSAGE_TYPES
    schema_version = 1

    def ddl(self) -> str:
        return _DDL

    def apply(self, cursor: AnyCursor, envelopes: Sequence[Envelope]) -> None:
        earlier = _load_earlier(cursor, envelopes)
        # An acceptance stays an envelope until the writing, which turns it
        # into a row of values in one go: a bulk is all acceptances. Only a
        # message that also moves in this batch becomes a dict to move.
        accepted: dict[UUID, Envelope] = {}
        moved: dict[UUID, Row] = {}
        for envelope in envelopes:
            key = envelope.aggregate_id
            if envelope.type == ACCEPTED:
                accepted[key] = envelope
                continue
            row = moved.get(key) or earlier.get(key)
            if row is None and key in accepted:
                row = moved[key] = _accepted_row(accepted.pop(key))
            # A transition of a message whose acceptance never reached us
            # (parked as poison) has no row to move; it is skipped, not raised,
            # so that one lost envelope does not block everything after it.
            if row is not None:
                _apply_transition(row, envelope)
        new = [_accepted_values(envelope) for envelope in accepted.values()]
        new += [_values(row) for row in moved.values()]
        write_values(cursor, _INSERT, new)
        write_values(cursor, _UPSERT, [_values(row) for row in earlier.values()])


def _load_earlier(cursor: AnyCursor, envelopes: Sequence[Envelope]) -> dict[UUID, Row]:
    """Rows of messages that move in this batch but were accepted before it."""
    wanted = moved_before(envelopes)
    rows: dict[UUID, Row] = {}
    if not wanted:
        return rows
    with reader(cursor) as read:
        for values in read.execute(_SELECT_TOUCHED, (wanted,)):
            row = dict(zip(_NAMES, values, strict=True))
            rows[row["message_id"]] = row
    return rows


def _event_entry(envelope: Envelope, status: str) -> dict[str, Any]:
    data = envelope.data
    return {
        "id": envelope.id,
        "type": envelope.type,
        "status": status,
        "carrier_status": data.get("carrier_status", ""),
        "error_code": data.get("error_code", ""),
        "at": envelope.occurred_at.isoformat(),
    }


def _accepted_values(envelope: Envelope) -> tuple[Any, ...]:
    """The new row in column order, its timeline already JSON."""
    status = status_after(envelope)
    events = _json.encode([_event_entry(envelope, status)]).decode()
    return (*_FIELDS_BUT_EVENTS(_accepted_columns(envelope, status)), events)


def _accepted_row(envelope: Envelope) -> Row:
    status = status_after(envelope)
    row = _accepted_columns(envelope, status)
    # The acceptance opens the timeline, so the list tells the whole story.
    row["events"] = [_event_entry(envelope, status)]
    return row


def _accepted_columns(envelope: Envelope, status: str) -> Row:
    """Every column of a new row but `events`, by name: the row is put in
    COLUMNS order by those names, so a column added or moved cannot shift a
    value into its neighbour."""
    data = envelope.data
    price_micros = int(data["price_micros"])
    at = envelope.occurred_at
    return {
        "message_id": envelope.aggregate_id,
        "account_id": envelope.account_id,
        "campaign_id": uuid_or_none(data["campaign_id"]),
        "client_ref": data["client_ref"],
        "destination": data["destination"],
        "country": data["country"],
        "sender": data["sender"],
        "encoding": data["encoding"],
        "segments": int(data["segments"]),
        "price_micros": price_micros,
        "currency": data["currency"],
        "sandbox": bool(data["sandbox"]),
        "status": status,
        "carrier": "",
        "carrier_message_id": "",
        "carrier_status": "",
        "error_code": "",
        "error_reason": "",
        # As in the aggregate: a free (sandbox) message holds nothing.
        "charge": "held" if price_micros > 0 else "none",
        "accepted_at": at,
        "submitted_at": None,
        "delivered_at": None,
        "final_at": None,
        "updated_at": at,
        "last_event_id": envelope.id,
    }


def _values(row: Row) -> tuple[Any, ...]:
    """A dict row in column order, its timeline encoded."""
    return (*_FIELDS_BUT_EVENTS(row), _json.encode(row["events"]).decode())


def _apply_transition(row: Row, envelope: Envelope) -> None:
    data, at = envelope.data, envelope.occurred_at
    status = status_after(envelope)
    if envelope.type == SUBMITTED:
        row["carrier"] = data["carrier"]
        row["carrier_message_id"] = data["carrier_message_id"]
        row["submitted_at"] = at
    elif envelope.type == REJECTED:
        row["error_code"] = data["error_code"]
        row["error_reason"] = data["reason"]
    elif envelope.type == REPORTED:
        row["carrier_status"] = data["carrier_status"]
        row["error_code"] = data["error_code"]
    row["status"] = status
    if status == DELIVERED:
        row["delivered_at"] = at
    if status in FINAL and row["final_at"] is None:
        row["final_at"] = at
    settlement = settlement_of(envelope)
    if settlement == "capture":
        row["charge"] = "captured"
    elif settlement == "release":
        row["charge"] = "released"
    row["updated_at"] = at
    row["last_event_id"] = envelope.id
    row["events"].append(_event_entry(envelope, status))


def fold_rows(envelopes: Sequence[Envelope]) -> list[Row]:
    """The rows the log will hold for the messages accepted among these
    envelopes, by the same rules as `apply`, without a table: a reader of a
    message the log has not reached yet sees what it will show. Rows are in
    the shape the queries below return (ids as text)."""
    rows: dict[UUID, Row] = {}
    for envelope in envelopes:
        if envelope.type == ACCEPTED:
            rows[envelope.aggregate_id] = _accepted_row(envelope)
        elif (row := rows.get(envelope.aggregate_id)) is not None:
            _apply_transition(row, envelope)
    for row in rows.values():
        for name in _ID_COLUMNS:
            if row[name] is not None:
                row[name] = str(row[name])
    return list(rows.values())


# Queries for the HTTP layer ------------------------------------------------

_PUBLIC = [name for name in _NAMES if name != "events"]
_ID_COLUMNS = ("message_id", "campaign_id")


def _select(columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{c}::text AS {c}" if name in _ID_COLUMNS else "{c}").format(
            c=sql.Identifier(name)
        )
        for name in columns
    )


def get_message(
    cursor: AnyCursor, account_id: str, message_id: str | UUID
) -> dict[str, Any] | None:
    """The message with its events, or None (also for another account's)."""
    try:
        wanted = message_id if isinstance(message_id, UUID) else UUID(str(message_id))
    except ValueError:
        return None
    query = sql.SQL("SELECT {cols} FROM rm_message_log WHERE message_id = %s AND account_id = %s")
    with dict_reader(cursor) as read:
        read.execute(query.format(cols=_select(_NAMES)), (wanted, account_id))
        return read.fetchone()


def list_messages(
    cursor: AnyCursor,
    account_id: str,
    *,
    status: str | None = None,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    destination: str | None = None,
    campaign_id: str | UUID | None = None,
    client_ref: str | None = None,
    sandbox: bool | None = None,
    page_size: int = 50,
    cursor_token: str | None = None,
    accepted_after: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None, bool, int]:
    """A page of the log, newest first: (rows, next cursor token or None,
    has_more, total matching the filters). Rows are the log's columns
    without `events`. Dates are inclusive bounds on accepted_at;
    `accepted_after` is exclusive (a sandbox reset hides what came before)."""
    check_page_size(page_size)
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    conditions: list[sql.Composable] = [sql.SQL("account_id = %s")]
    params: list[Any] = [account_id]
    for column, value in (
        ("status", status),
        ("destination", destination),
        ("client_ref", client_ref),
        ("sandbox", sandbox),
        ("campaign_id", _campaign_filter(campaign_id)),
    ):
        if value is not None:
            conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if from_date is not None:
        conditions.append(sql.SQL("accepted_at >= %s"))
        params.append(from_date)
    if to_date is not None:
        conditions.append(sql.SQL("accepted_at <= %s"))
        params.append(to_date)
    if accepted_after is not None:
        conditions.append(sql.SQL("accepted_at > %s"))
        params.append(accepted_after)
    after = None if cursor_token is None else _cursor_key(cursor_token)
    rows, has_more, total = keyset_page(
        cursor, table=TABLE, columns=_select(_PUBLIC), conditions=conditions, params=params,
        key=("accepted_at", "message_id"), after=after, page_size=page_size,
    )
    token = None
    if has_more:
        last = rows[-1]
        token = encode_cursor({"t": last["accepted_at"].isoformat(), "id": last["message_id"]})
    return rows, token, has_more, total


def with_unprojected(
    result: tuple[list[Row], str | None, bool, int], unprojected: Sequence[Row], page_size: int
) -> tuple[list[Row], str | None, bool, int]:
    """A first page of `list_messages` with rows the log has not reached yet
    (`fold_rows` of newer events) put in their places, newest first.

    The cursor is a keyset over (accepted_at, message_id), so it is as good
    after an unprojected row as after a projected one. Unprojected rows
    that fall beyond this first page are not carried to the next: by then
    the log has them, or the caller asks again."""
    rows, _, has_more, total = result
    seen = {row["message_id"] for row in rows}
    extra = [
        {name: value for name, value in row.items() if name != "events"}
        for row in unprojected if row["message_id"] not in seen
    ]
    if not extra:
        return result
    merged = sorted(
        [*rows, *extra], key=lambda r: (r["accepted_at"], r["message_id"]), reverse=True
    )
    page = merged[:page_size]
    more = has_more or len(merged) > page_size
    token = None
    if more:
        token = encode_cursor({"t": page[-1]["accepted_at"].isoformat(),
                               "id": page[-1]["message_id"]})
    return page, token, more, total + len(extra)


def _campaign_filter(campaign_id: str | UUID | None) -> UUID | None:
    if campaign_id is None or isinstance(campaign_id, UUID):
        return campaign_id
    try:
        return UUID(campaign_id)
    except ValueError as error:
        raise ValueError("campaign_id must be a UUID") from error


def _cursor_key(token: str) -> list[Any]:
    after = decode_cursor(token, ("t", "id"))
    try:
        return [datetime.fromisoformat(str(after["t"])), UUID(str(after["id"]))]
    except ValueError as error:
        raise ValueError("invalid cursor") from error
