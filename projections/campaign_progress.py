"""Campaign progress: a campaign's own lifecycle and its messages per status.

Campaign events set the campaign's fields; message events move the count of
the campaign's messages from one status column to another. Which campaign a
message belongs to, and its current status, are kept in a small table of our
own, and only while the message is in flight: a final status never changes
again (the domain makes transitions monotonic), so the row is dropped then.

A batch reads the rows it touches (two queries), folds every event in
memory and writes each touched row once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from domain.campaign import Campaign
from domain.published import CONTRACTS, Envelope
from projections.common import (
    ACCEPTED,
    FINAL,
    MESSAGE_TYPES,
    STATUSES,
    AnyCursor,
    check_page_size,
    decode_cursor,
    dict_reader,
    encode_cursor,
    keyset_page,
    moved_before,
    parse_uuid,
    reader,
    status_after,
    unnest_upsert,
    uuid_or_none,
    write_rows,
)

CAMPAIGNS = "rm_campaign_progress"
MESSAGES = "rm_campaign_progress_messages"

CREATED = CONTRACTS[Campaign.Created].type
RECIPIENTS_ADDED = CONTRACTS[Campaign.RecipientsAdded].type
STARTED = CONTRACTS[Campaign.Started].type
COMPLETED = CONTRACTS[Campaign.Completed].type
FAILED = CONTRACTS[Campaign.Failed].type
LISTED = CONTRACTS[Campaign.RecipientsListed].type
SUBMITTED = CONTRACTS[Campaign.SubmittedForApproval].type
APPROVED = CONTRACTS[Campaign.Approved].type
REJECTED = CONTRACTS[Campaign.Rejected].type
CHUNK_SENT = CONTRACTS[Campaign.ChunkSent].type
PAUSED = CONTRACTS[Campaign.Paused].type
RESUMED = CONTRACTS[Campaign.Resumed].type
CANCELLED = CONTRACTS[Campaign.Cancelled].type
CAMPAIGN_TYPES = frozenset({
    CREATED, RECIPIENTS_ADDED, STARTED, COMPLETED, FAILED, LISTED, SUBMITTED, APPROVED,
    REJECTED, CHUNK_SENT, PAUSED, RESUMED, CANCELLED,
})

_COUNT_COLUMNS = tuple(f"messages_{status}" for status in STATUSES)
# Added with the review workflow (full campaigns); a bulk batch leaves them
# at their defaults.
_REVIEW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("scheduled_at", "timestamptz"),
    ("listed", "bigint"),
    ("recipients", "bigint"),
    ("opted_out", "bigint"),
    ("reason", "text"),
    ("submitted_at", "timestamptz"),
    ("approved_at", "timestamptz"),
    ("rejected_at", "timestamptz"),
    ("paused_at", "timestamptz"),
    ("cancelled_at", "timestamptz"),
    # Time spent sending before the current stretch, and when that stretch
    # began (null while not sending): the rate behind the ETA.
    ("sending_seconds", "double precision"),
    ("sending_since", "timestamptz"),
)
_REVIEW_DEFAULTS = {"listed": 0, "recipients": 0, "opted_out": 0, "sending_seconds": 0.0}
CAMPAIGN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("campaign_id", "uuid"),
    ("account_id", "text"),
    ("name", "text"),
    ("kind", "text"),
    ("sender", "text"),
    ("client_ref", "text"),
    ("sandbox", "boolean"),
    ("status", "text"),
    ("failure_reason", "text"),
    ("accepted", "bigint"),
    ("rejected", "bigint"),
    ("total_price_micros", "bigint"),
    ("created_at", "timestamptz"),
    ("started_at", "timestamptz"),
    ("completed_at", "timestamptz"),
    ("failed_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("last_event_id", "bigint"),
    *((column, "bigint") for column in _COUNT_COLUMNS),
    *_REVIEW_COLUMNS,
)
_CAMPAIGN_NAMES = [name for name, _ in CAMPAIGN_COLUMNS]
MESSAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("message_id", "uuid"),
    ("campaign_id", "uuid"),
    ("status", "text"),
)
_CAMPAIGN_UPSERT = unnest_upsert(CAMPAIGNS, CAMPAIGN_COLUMNS, ("campaign_id",))
_MESSAGE_UPSERT = unnest_upsert(MESSAGES, MESSAGE_COLUMNS, ("message_id",))
# A message's row is created by its acceptance, handed over once: a plain
# INSERT, which a large batch COPYs straight in.
_MESSAGE_INSERT = unnest_upsert(MESSAGES, MESSAGE_COLUMNS, None)
_SELECT_CAMPAIGNS = sql.SQL(
    "SELECT {} FROM rm_campaign_progress WHERE campaign_id = ANY(%s)"
).format(
    sql.SQL(", ").join(sql.Identifier(name) for name in _CAMPAIGN_NAMES)
)
_SELECT_MESSAGES = (
    "SELECT message_id, campaign_id, status FROM rm_campaign_progress_messages"
    " WHERE message_id = ANY(%s)"
)
_DELETE_MESSAGES = "DELETE FROM rm_campaign_progress_messages WHERE message_id = ANY(%s)"

_DDL = (
    """
CREATE TABLE IF NOT EXISTS rm_campaign_progress (
    campaign_id uuid PRIMARY KEY,
    account_id text NOT NULL,
    -- Null until campaign.created is seen (a message may be seen first).
    name text,
    kind text,
    sender text,
    client_ref text,
    sandbox boolean,
    status text NOT NULL,
    failure_reason text,
    accepted bigint NOT NULL,
    rejected bigint NOT NULL,
    total_price_micros bigint NOT NULL,
    created_at timestamptz,
    started_at timestamptz,
    completed_at timestamptz,
    failed_at timestamptz,
    updated_at timestamptz NOT NULL,
    last_event_id bigint NOT NULL,
"""
    + ",\n".join(f"    {column} bigint NOT NULL" for column in _COUNT_COLUMNS)
    + """
);
CREATE INDEX IF NOT EXISTS rm_campaign_progress_account_idx
    ON rm_campaign_progress (account_id, created_at DESC);
-- The batches the completer looks at: few at any time, however many ran.
CREATE INDEX IF NOT EXISTS rm_campaign_progress_running_batches_idx
    ON rm_campaign_progress (started_at) WHERE kind = 'batch' AND status = 'running';
CREATE TABLE IF NOT EXISTS rm_campaign_progress_messages (
    message_id uuid PRIMARY KEY,
    campaign_id uuid NOT NULL,
    status text NOT NULL
);
"""
    + "".join(
        f"ALTER TABLE rm_campaign_progress ADD COLUMN IF NOT EXISTS {column} {kind}"
        + (f" NOT NULL DEFAULT {_REVIEW_DEFAULTS[column]}" if column in _REVIEW_DEFAULTS else "")
        + ";\n"
        for column, kind in _REVIEW_COLUMNS
    )
)

Row = dict[str, Any]


class CampaignProgress:
    name = "campaign_progress"
    tables: tuple[str, ...] = (CAMPAIGNS, MESSAGES)
    event_types = CAMPAIGN_TYPES | MESSAGE_TYPES
    schema_version = 1

    def ddl(self) -> str:
        return _DDL

    def apply(self, cursor: AnyCursor, envelopes: Sequence[Envelope]) -> None:
        stored = _load_messages(cursor, envelopes)
        messages = dict(stored)
        campaigns = _load_campaigns(cursor, envelopes, messages)
        for envelope in envelopes:
            if envelope.type in CAMPAIGN_TYPES:
                campaign = _campaign(campaigns, envelope.aggregate_id, envelope)
                _apply_campaign_event(campaign, envelope)
                continue
            if envelope.type == ACCEPTED:
                campaign_id = uuid_or_none(envelope.data["campaign_id"])
                if campaign_id is None:
                    continue
                message: Row = {"message_id": envelope.aggregate_id, "campaign_id": campaign_id}
                messages[envelope.aggregate_id] = message
                old_status = None
            else:
                found = messages.get(envelope.aggregate_id)
                if found is None:  # not a campaign's message, or no longer in flight
                    continue
                message, old_status = found, found["status"]
            message["status"] = status_after(envelope)
            campaign = _campaign(campaigns, message["campaign_id"], envelope)
            if old_status is not None:
                campaign[f"messages_{old_status}"] -= 1
            campaign[f"messages_{message['status']}"] += 1
        in_flight = [m for m in messages.values() if m["status"] not in FINAL]
        finished = [m["message_id"] for m in stored.values() if m["status"] in FINAL]
        new = [m for m in in_flight if m["message_id"] not in stored]
        moved = [m for m in in_flight if m["message_id"] in stored]
        write_rows(cursor, _MESSAGE_INSERT, MESSAGE_COLUMNS, new)
        write_rows(cursor, _MESSAGE_UPSERT, MESSAGE_COLUMNS, moved)
        if finished:
            cursor.execute(_DELETE_MESSAGES, (finished,))
        write_rows(cursor, _CAMPAIGN_UPSERT, CAMPAIGN_COLUMNS, list(campaigns.values()))


def _load_messages(cursor: AnyCursor, envelopes: Sequence[Envelope]) -> dict[UUID, Row]:
    """In-flight campaign messages that move in the batch, accepted before it."""
    wanted = moved_before(envelopes, lambda e: e.type in MESSAGE_TYPES)
    rows: dict[UUID, Row] = {}
    if wanted:
        with reader(cursor) as read:
            for message_id, campaign_id, status in read.execute(_SELECT_MESSAGES, (wanted,)):
                rows[message_id] = {
                    "message_id": message_id, "campaign_id": campaign_id, "status": status
                }
    return rows


def _load_campaigns(
    cursor: AnyCursor, envelopes: Sequence[Envelope], messages: dict[UUID, Row]
) -> dict[UUID, Row]:
    wanted: set[UUID] = {m["campaign_id"] for m in messages.values()}
    for envelope in envelopes:
        if envelope.type in CAMPAIGN_TYPES:
            wanted.add(envelope.aggregate_id)
        elif envelope.type == ACCEPTED and envelope.data["campaign_id"]:
            wanted.add(parse_uuid(envelope.data["campaign_id"]))
    rows: dict[UUID, Row] = {}
    if wanted:
        with reader(cursor) as read:
            for values in read.execute(_SELECT_CAMPAIGNS, (list(wanted),)):
                row = dict(zip(_CAMPAIGN_NAMES, values, strict=True))
                rows[row["campaign_id"]] = row
    return rows


def _campaign(campaigns: dict[UUID, Row], campaign_id: UUID, envelope: Envelope) -> Row:
    """The campaign's row, started empty by whichever of its events comes first."""
    row = campaigns.get(campaign_id)
    if row is None:
        row = campaigns[campaign_id] = dict.fromkeys(_CAMPAIGN_NAMES)
        row.update(dict.fromkeys(("accepted", "rejected", "total_price_micros"), 0))
        row.update(dict.fromkeys(_COUNT_COLUMNS, 0))
        row.update(_REVIEW_DEFAULTS)
        row.update(campaign_id=campaign_id, account_id=envelope.account_id, status="draft")
    row["updated_at"] = envelope.occurred_at
    row["last_event_id"] = envelope.id
    return row


def _apply_campaign_event(row: Row, envelope: Envelope) -> None:
    data, at, kind = envelope.data, envelope.occurred_at, envelope.type
    if kind == CREATED:
        for field in ("name", "kind", "sender", "client_ref", "sandbox"):
            row[field] = data[field]
        scheduled = data.get("scheduled_at")  # version 1 had none
        row["scheduled_at"] = datetime.fromisoformat(scheduled) if scheduled else None
        row["created_at"] = at
    elif kind in (RECIPIENTS_ADDED, CHUNK_SENT):
        for field in ("accepted", "rejected", "total_price_micros"):
            row[field] += int(data[field])
        row["opted_out"] += int(data.get("opted_out", 0))
    elif kind == STARTED:
        status = "running" if row["kind"] == "batch" else "sending"
        row.update(status=status, started_at=at, sending_since=at)
    elif kind in (COMPLETED, FAILED, PAUSED, CANCELLED):
        _stop_sending(row, at)
        status = {COMPLETED: "completed", FAILED: "failed", PAUSED: "paused",
                  CANCELLED: "cancelled"}[kind]
        row.update(status=status, **{f"{status}_at": at})
        if kind != COMPLETED:
            row["reason"] = data["reason"]
        if kind == FAILED:
            row["failure_reason"] = data["reason"]
    else:
        _apply_review_event(row, envelope)


def _apply_review_event(row: Row, envelope: Envelope) -> None:
    data, at, kind = envelope.data, envelope.occurred_at, envelope.type
    if kind == LISTED:
        row["listed"] += int(data["added"])
    elif kind == SUBMITTED:
        row.update(status="pending_approval", submitted_at=at,
                   recipients=int(data["recipients"]))
    elif kind == APPROVED:
        row.update(status="approved", approved_at=at)
    elif kind == REJECTED:
        row.update(status="rejected", rejected_at=at, reason=data["reason"])
    elif kind == RESUMED:
        row.update(status="sending", reason=None, sending_since=at)


def _stop_sending(row: Row, at: datetime) -> None:
    since = row["sending_since"]
    if since is not None:
        row["sending_seconds"] += max(0.0, (at - since).total_seconds())
        row["sending_since"] = None


# Query for the batch completer ----------------------------------------------

_SELECT_FINISHED_BATCHES = sql.SQL(
    "SELECT campaign_id FROM rm_campaign_progress"
    " WHERE kind = 'batch' AND status = 'running' AND {final} >= accepted"
    " ORDER BY started_at LIMIT %s"
).format(final=sql.SQL(" + ").join(sql.Identifier(f"messages_{s}") for s in sorted(FINAL)))


def finished_batches(cursor: AnyCursor, limit: int) -> list[UUID]:
    """Running bulk batches with every accepted message final, oldest first."""
    with reader(cursor) as read:
        return [row[0] for row in read.execute(_SELECT_FINISHED_BATCHES, (limit,))]


# Query for the HTTP layer --------------------------------------------------

_SELECT_ONE = sql.SQL(
    "SELECT {} FROM rm_campaign_progress WHERE campaign_id = %s AND account_id = %s"
).format(
    sql.SQL(", ").join(
        sql.SQL("campaign_id::text AS campaign_id")
        if name == "campaign_id"
        else sql.Identifier(name)
        for name in _CAMPAIGN_NAMES
    )
)


def get_campaign(
    cursor: AnyCursor, account_id: str, campaign_id: str | UUID
) -> dict[str, Any] | None:
    """The campaign's progress, or None (also for another account's). The
    per-status message counts are under "messages", keyed by status."""
    try:
        wanted = campaign_id if isinstance(campaign_id, UUID) else UUID(str(campaign_id))
    except ValueError:
        return None
    with dict_reader(cursor) as read:
        row = read.execute(_SELECT_ONE, (wanted, account_id)).fetchone()
    if row is None:
        return None
    return _counts(row)


_LIST_COLUMNS = sql.SQL(", ").join(
    sql.SQL("campaign_id::text AS campaign_id") if name == "campaign_id"
    else sql.Identifier(name)
    for name in _CAMPAIGN_NAMES
)


def list_campaigns(
    cursor: AnyCursor,
    account_id: str,
    *,
    sandbox: bool,
    kind: str | None,
    status: str | None,
    page_size: int,
    cursor_token: str | None,
) -> tuple[list[dict[str, Any]], str | None, bool, int]:
    """The account's campaigns in one mode, newest first: (rows, next
    cursor, has_more, total). A campaign appears once its creation is seen."""
    check_page_size(page_size)
    conditions = [sql.SQL("account_id = %s AND sandbox = %s AND created_at IS NOT NULL")]
    params: list[Any] = [account_id, sandbox]
    if kind is not None:
        if kind not in ("batch", "campaign"):
            raise ValueError("kind is batch or campaign")
        conditions.append(sql.SQL("kind = %s"))
        params.append(kind)
    if status is not None:
        conditions.append(sql.SQL("status = %s"))
        params.append(status)
    after = None
    if cursor_token is not None:
        key = decode_cursor(cursor_token, ("c", "i"))
        after = [datetime.fromisoformat(key["c"]), UUID(key["i"])]
    rows, has_more, total = keyset_page(
        cursor, table=CAMPAIGNS, columns=_LIST_COLUMNS, conditions=conditions, params=params,
        key=("created_at", "campaign_id"), after=after, page_size=page_size,
    )
    for row in rows:
        _counts(row)
    token = (
        encode_cursor({"c": rows[-1]["created_at"].isoformat(), "i": rows[-1]["campaign_id"]})
        if has_more else None
    )
    return rows, token, has_more, total


def _counts(row: dict[str, Any]) -> dict[str, Any]:
    counts = {status: int(row.pop(f"messages_{status}")) for status in STATUSES}
    row["messages"] = counts
    row["messages_total"] = sum(counts.values())
    return row
