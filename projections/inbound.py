"""Inbound messages, listed newest first per account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from domain.published import Envelope
from projections.common import AnyCursor, check_page_size, decode_cursor, encode_cursor, keyset_page

TABLE = "rm_inbound"
RECEIVED = "inbound.received"

_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    inbound_id uuid PRIMARY KEY,
    account_id text NOT NULL,
    carrier text NOT NULL,
    source text NOT NULL,
    destination text NOT NULL,
    body text NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_inbound_account_idx
    ON {TABLE} (account_id, received_at DESC, inbound_id DESC);
"""


class Inbound:
    name = "inbound"
    tables: tuple[str, ...] = (TABLE,)
    event_types = frozenset({RECEIVED})
    schema_version = 1

    def ddl(self) -> str:
        return _DDL

    def apply(self, cursor: AnyCursor, envelopes: Sequence[Envelope]) -> None:
        cursor.executemany(
            f"INSERT INTO {TABLE} (inbound_id, account_id, carrier, source, destination,"  # noqa: S608
            " body, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (e.aggregate_id, e.account_id, e.data["carrier"], e.data["source"],
                 e.data["destination"], e.data["body"], e.occurred_at)
                for e in envelopes
            ],
        )


def list_inbound(
    cursor: AnyCursor, account_id: str, *, page_size: int = 50, cursor_token: str | None = None
) -> tuple[list[dict[str, Any]], str | None, bool, int]:
    check_page_size(page_size)
    after_key: list[Any] | None = None
    if cursor_token:
        key = decode_cursor(cursor_token, ("t", "i"))
        try:
            after_key = [datetime.fromisoformat(str(key["t"])), UUID(str(key["i"]))]
        except ValueError as error:
            raise ValueError("invalid cursor") from error
    rows, has_more, total = keyset_page(
        cursor,
        table=TABLE,
        columns=sql.SQL("inbound_id::text AS inbound_id, carrier, source, destination, body,"
                        " received_at"),
        conditions=[sql.SQL("account_id = %s")],
        params=[account_id],
        key=("received_at", "inbound_id"),
        after=after_key,
        page_size=page_size,
    )
    next_token = (
        encode_cursor({"t": rows[-1]["received_at"].isoformat(), "i": rows[-1]["inbound_id"]})
        if has_more and rows else None
    )
    return rows, next_token, has_more, total
