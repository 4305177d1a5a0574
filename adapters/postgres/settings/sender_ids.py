"""Sender ID requests and each account's sending policy, in PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

from psycopg.rows import kwargs_row
from psycopg_pool import ConnectionPool

from adapters.postgres.keyset import newest_first
from adapters.postgres.quotas import insert_within_quota
from application.errors import Conflict, NotFound
from application.settings.sender_ids import Decision, SenderIdRecord, SendingPolicy
from domain.messaging.sender import SenderIdStatus

COLUMNS = ("id", "account_id", "sender_id", "kind", "status", "purpose", "rejection_reason",
           "created_at", "decided_at")
# Policies are read on every send. An approval is seen at once (a refusal is
# confirmed against the database); a withdrawn numeric permission within this.
POLICY_TTL_S = 10.0
POLICY_CACHE_MAX = 100_000


class PostgresSenderIds:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._policies: dict[str, tuple[float, SendingPolicy]] = {}
        self._guard = threading.Lock()

    def add(self, record: SenderIdRecord, *, limit: int) -> None:
        row = {
            "id": record.id, "account_id": record.account_id, "sender_id": record.sender_id,
            "kind": record.kind, "status": str(record.status), "purpose": record.purpose,
            "created_at": record.created_at,
        }
        insert_within_quota(
            self._pool, "sender_ids", row, limit=limit, what="sender ID requests",
            conflict=Conflict("This sender ID is already requested or approved",
                              sender_id=record.sender_id),
        )

    def get(self, record_id: UUID) -> SenderIdRecord | None:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=kwargs_row(_record)
        ) as cur:
            return cur.execute(
                f"SELECT {', '.join(COLUMNS)} FROM sender_ids WHERE id = %s",
                (record_id,),
            ).fetchone()

    def page(
        self, account_id: str, page_size: int, cursor: str | None
    ) -> tuple[list[SenderIdRecord], str | None, bool, int]:
        return newest_first(
            self._pool, "sender_ids", COLUMNS, account_id, page_size, cursor, _record
        )

    def decide(self, record_id: UUID, expected: SenderIdStatus, decision: Decision) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE sender_ids SET status = %s, rejection_reason = %s, decided_by = %s,"
                " decided_at = %s WHERE id = %s AND status = %s RETURNING account_id",
                (str(decision.status), decision.reason, decision.decided_by,
                 decision.decided_at, record_id, str(expected)),
            )
            row = cursor.fetchone()
        if row is not None:
            self._forget(str(row[0]))
        return row is not None

    def policy(self, account_id: str, *, fresh: bool) -> SendingPolicy:
        if not fresh:
            with self._guard:
                cached = self._policies.get(account_id)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
        with self._pool.connection() as conn:
            approved = conn.execute(
                "SELECT sender_id FROM sender_ids WHERE account_id = %s AND status = 'approved'",
                (account_id,),
            ).fetchall()
            numeric = conn.execute(
                "SELECT allow_numeric_senders FROM accounts WHERE id = %s", (account_id,)
            ).fetchone()
        policy = SendingPolicy(frozenset(r[0] for r in approved), bool(numeric and numeric[0]))
        with self._guard:
            if len(self._policies) >= POLICY_CACHE_MAX:
                self._policies.clear()
            self._policies[account_id] = (time.monotonic() + POLICY_TTL_S, policy)
        return policy

    def set_numeric_allowed(self, account_id: str, allowed: bool) -> None:
        with self._pool.connection() as conn:
            updated = conn.execute(
                "UPDATE accounts SET allow_numeric_senders = %s WHERE id = %s",
                (allowed, account_id),
            ).rowcount
        if not updated:
            raise NotFound("No such account", account_id=account_id)
        self._forget(account_id)

    def _forget(self, account_id: str) -> None:
        with self._guard:
            self._policies.pop(account_id, None)


def _record(*, status: str, **columns: Any) -> SenderIdRecord:
    """A request from its columns, by name (its status is stored as text)."""
    return SenderIdRecord(**columns, status=SenderIdStatus(status))
