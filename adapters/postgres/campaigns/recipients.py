"""A campaign's recipient list: rows keyed (campaign_id, seq), one per number.

Edits hold a transaction-scoped advisory lock on the campaign, so two
additions number their rows one after the other, and submit (which freezes
the list at its highest seq) never overlaps an addition.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from adapters.postgres.contacts.labels import (
    AUDIENCE_CONDITION_SQL,
    TEMPLATE_VARIABLES_SQL,
    audience_params,
    check_audience,
)
from application.campaigns.ports import Appended, ListedRecipient
from application.contacts.ports import Audience

# The lock is named by a constant and the first 32 bits of the campaign id; a
# collision between two campaigns would only make them wait for each other.
_LOCK_NAMESPACE = 0x51
_APPEND = (
    "INSERT INTO campaign_recipients (campaign_id, seq, phone, variables)"
    " SELECT %s, %s + t.n, t.phone, t.variables"
    " FROM unnest(%s::text[], %s::jsonb[]) WITH ORDINALITY AS t(phone, variables, n)"
    " ON CONFLICT (campaign_id, phone) DO NOTHING"
)
_APPEND_AUDIENCE = (
    "WITH chosen AS ("
    "  SELECT c.id, c.phone, " + TEMPLATE_VARIABLES_SQL + " AS variables,"
    "         row_number() OVER (ORDER BY c.created_at, c.id) AS n"
    "  FROM contacts c WHERE " + AUDIENCE_CONDITION_SQL + "),"
    " added AS ("
    "  INSERT INTO campaign_recipients (campaign_id, seq, phone, variables, contact_id)"
    "  SELECT %(campaign)s, %(base)s + n, phone, variables, id FROM chosen"
    "  ON CONFLICT (campaign_id, phone) DO NOTHING RETURNING seq)"
    " SELECT (SELECT count(*) FROM chosen), (SELECT count(*) FROM added)"
)


class _Editor:
    def __init__(self, conn: psycopg.Connection[Any], campaign_id: UUID) -> None:
        self._conn = conn
        self._campaign_id = campaign_id
        row = conn.execute(
            "SELECT coalesce(max(seq), 0) FROM campaign_recipients WHERE campaign_id = %s",
            (campaign_id,),
        ).fetchone()
        assert row is not None
        self._last_seq = int(row[0])

    def append(self, recipients: Sequence[tuple[str, Mapping[str, object]]]) -> Appended:
        if not recipients:
            return Appended(0, 0)
        phones = [phone for phone, _ in recipients]
        variables = [Jsonb(dict(v)) for _, v in recipients]
        cur = self._conn.execute(
            _APPEND, (self._campaign_id, self._last_seq, phones, variables)
        )
        self._last_seq += len(recipients)
        return Appended(cur.rowcount, len(recipients) - cur.rowcount)

    def append_audience(self, account_id: str, audience: Audience) -> Appended:
        check_audience(self._conn, account_id, audience)
        params = {
            **audience_params(account_id, audience),
            "campaign": self._campaign_id, "base": self._last_seq,
        }
        row = self._conn.execute(_APPEND_AUDIENCE, params).fetchone()
        assert row is not None
        chosen, added = int(row[0]), int(row[1])
        self._last_seq += chosen
        return Appended(added, chosen - added)

    def summary(self) -> tuple[int, int]:
        """Counted again: duplicates leave gaps, and the list's last seq is
        the highest one present."""
        row = self._conn.execute(
            "SELECT count(*), coalesce(max(seq), 0) FROM campaign_recipients"
            " WHERE campaign_id = %s", (self._campaign_id,),
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


class PostgresCampaignRecipients:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    @contextmanager
    def editing(self, campaign_id: UUID) -> Iterator[_Editor]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                (_LOCK_NAMESPACE, int.from_bytes(campaign_id.bytes[:4], "big", signed=True)),
            )
            yield _Editor(conn, campaign_id)

    def page(self, campaign_id: UUID, after_seq: int, up_to_seq: int,
             limit: int) -> list[ListedRecipient]:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(ListedRecipient)
        ) as cur:
            return cur.execute(
                "SELECT seq, phone, variables FROM campaign_recipients"
                " WHERE campaign_id = %s AND seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
                (campaign_id, after_seq, up_to_seq, limit),
            ).fetchall()

    def seqs(self, campaign_id: UUID, after_seq: int, up_to_seq: int, limit: int) -> list[int]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT seq FROM campaign_recipients"
                " WHERE campaign_id = %s AND seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
                (campaign_id, after_seq, up_to_seq, limit),
            ).fetchall()
        return [int(r[0]) for r in rows]
