"""The executor's work queue: campaigns due for a look, claimed with a lease.

Each claim carries a fresh token. Scheduling a campaign again clears the
token, so an executor that claimed it earlier cannot remove or release it
afterwards: a resume that races an executor deciding "paused, nothing to do"
is never lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

from application.campaigns.ports import Claim
from projections.campaign_progress import finished_batches

_CLAIM = (
    "UPDATE campaign_runs r SET claimed_until = now() + make_interval(secs => %s), owner = %s"
    " FROM (SELECT campaign_id FROM campaign_runs"
    "       WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())"
    "       ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) AS due"
    " WHERE r.campaign_id = due.campaign_id RETURNING r.campaign_id, r.owner AS token, r.swept_seq"
)


class PostgresCampaignRuns:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def schedule(self, campaign_id: UUID, account_id: str, due_at: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO campaign_runs (campaign_id, account_id, due_at)"
                " VALUES (%s, %s, %s) ON CONFLICT (campaign_id) DO UPDATE"
                " SET due_at = excluded.due_at, claimed_until = NULL, owner = NULL",
                (campaign_id, account_id, due_at),
            )

    def claim(self, owner: str, limit: int, lease_s: float) -> list[Claim]:
        token = f"{owner}/{uuid.uuid4()}"
        with self._pool.connection() as conn, conn.cursor(row_factory=class_row(Claim)) as cur:
            return cur.execute(_CLAIM, (lease_s, token, limit)).fetchall()

    def release(self, claim: Claim, due_at: datetime | None = None) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE campaign_runs SET claimed_until = NULL, owner = NULL,"
                " due_at = coalesce(%s, due_at) WHERE campaign_id = %s AND owner = %s",
                (due_at, claim.campaign_id, claim.token),
            )

    def remove(self, claim: Claim) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM campaign_runs WHERE campaign_id = %s AND owner = %s",
                (claim.campaign_id, claim.token),
            )

    def swept(self, claim: Claim, seq: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE campaign_runs SET swept_seq = %s WHERE campaign_id = %s",
                (seq, claim.campaign_id),
            )

    def pending(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT count(*) FROM campaign_runs").fetchone()
        return int(row[0]) if row else 0


class PostgresFinishedBatches:
    """The batch completer's question, asked of the campaign-progress read model."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def finished(self, limit: int) -> list[UUID]:
        with self._pool.connection() as conn, conn.cursor() as cursor:
            return finished_batches(cursor, limit)
