"""Token buckets shared by every API process: one row per API key, and one
per client address and purpose (sign-in attempts, failed key checks).

A process does not ask the database on every request: it leases a small batch
of tokens with one statement and spends them locally (see
adapters/http/middleware/rate_limit.py). The row refills at its rate up to its capacity,
using the database's clock, so that processes on hosts with different clocks
agree. The table is UNLOGGED: buckets are worth nothing after a crash (they
simply start full), and leases then cost no WAL flush.

A bucket that is full again is the same as no row at all, so rows record
when that happens (`full_at`) and `prune` deletes those: addresses come and
go, and a flood from many addresses must not grow the table for ever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

# One statement, so that a bucket's first lease costs one round trip too (a
# flood from new addresses is all first leases): insert a full bucket and
# lease from it, or refill the existing one for the time since its last
# lease (never backwards), cap it at the capacity, and take up to the wanted
# tokens, whole ones only.
_LEASE = """
INSERT INTO rate_buckets AS b (key_id, tokens, last_taken, refilled_at, full_at)
SELECT %(key_id)s, %(capacity)s - %(want)s, %(want)s, n.at,
       n.at + make_interval(secs => %(want)s / %(rate)s::float8)
FROM (SELECT clock_timestamp() AS at) n
ON CONFLICT (key_id) DO UPDATE SET (tokens, last_taken, refilled_at, full_at) = (
    SELECT level - taken, taken, at,
           at + make_interval(secs => (%(capacity)s - level + taken) / %(rate)s::float8)
    FROM (
        SELECT level, least(%(want)s, floor(level))::int AS taken, at
        FROM (
            SELECT least(%(capacity)s::float8, b.tokens + %(rate)s::float8
                         * greatest(0, extract(epoch FROM (n.at - b.refilled_at)))) AS level,
                   n.at
            FROM (SELECT clock_timestamp() AS at) n
        ) s
    ) t
)
RETURNING last_taken, tokens
"""
_PRUNE = "DELETE FROM rate_buckets WHERE full_at < clock_timestamp()"


@dataclass(frozen=True, slots=True)
class Lease:
    taken: int  # tokens now this process's to spend
    tokens_left: float  # what the shared bucket still holds after this lease


class PostgresRateBuckets:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def lease(
        self, key_id: uuid.UUID, rate_per_s: float, want: int, *, capacity: int | None = None
    ) -> Lease:
        """Up to `want` tokens from the bucket `key_id`, which holds at most
        `capacity` tokens (by default one second's worth) and refills at
        `rate_per_s` tokens a second."""
        capacity = capacity if capacity is not None else int(rate_per_s)
        assert rate_per_s > 0 and 0 < want <= capacity
        params = {"key_id": key_id, "rate": rate_per_s, "capacity": capacity, "want": want}
        with self._pool.connection() as conn:
            row = conn.execute(_LEASE, params).fetchone()
        assert row is not None
        return Lease(int(row[0]), float(row[1]))

    def prune(self) -> int:
        """Deletes the buckets that are full again; returns how many."""
        with self._pool.connection() as conn:
            return conn.execute(_PRUNE).rowcount
