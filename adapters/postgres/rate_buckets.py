"""Token buckets shared by every API process, one row per API key.

A process does not ask the database on every request: it leases a small batch
of tokens with one UPDATE ... RETURNING and spends them locally (see
adapters/http/rate_limit.py). The row refills at the key's rate up to one
second's worth, using the database's clock, so that processes on hosts with
different clocks agree. The table is UNLOGGED: buckets are worth nothing
after a crash (they simply start full), and leases then cost no WAL flush.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

# Refill the bucket for the time since the last lease (never backwards), cap
# it at the capacity, and take up to the wanted tokens, whole ones only.
_LEASE = """
UPDATE rate_buckets b SET (tokens, last_taken, refilled_at) = (
    SELECT level - least(%(want)s, floor(level)), least(%(want)s, floor(level))::int, at
    FROM (
        SELECT least(%(capacity)s::float8, b.tokens + %(rate)s::float8
                     * greatest(0, extract(epoch FROM (n.at - b.refilled_at)))) AS level,
               n.at
        FROM (SELECT clock_timestamp() AS at) n
    ) s
)
WHERE key_id = %(key_id)s
RETURNING last_taken, tokens
"""


@dataclass(frozen=True, slots=True)
class Lease:
    taken: int  # tokens now this process's to spend
    tokens_left: float  # what the shared bucket still holds after this lease


class PostgresRateBuckets:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def lease(self, key_id: uuid.UUID, rate_per_s: int, want: int) -> Lease:
        """Up to `want` tokens from the key's bucket, which holds at most
        `rate_per_s` tokens and refills at `rate_per_s` tokens a second."""
        assert rate_per_s > 0 and 0 < want <= rate_per_s
        params = {"key_id": key_id, "rate": rate_per_s, "capacity": rate_per_s, "want": want}
        with self._pool.connection() as conn:
            row = conn.execute(_LEASE, params).fetchone()
            if row is None:  # the key's first lease anywhere: start with a full bucket
                conn.execute(
                    "INSERT INTO rate_buckets (key_id, tokens, last_taken, refilled_at)"
                    " VALUES (%s, %s, 0, clock_timestamp()) ON CONFLICT (key_id) DO NOTHING",
                    (key_id, rate_per_s),
                )
                row = conn.execute(_LEASE, params).fetchone()
        assert row is not None
        return Lease(int(row[0]), float(row[1]))
