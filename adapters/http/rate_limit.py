"""Rate limits: a token bucket per API key that holds across API processes.

Each key's bucket is a PostgreSQL row (adapters/postgres/rate_buckets.py)
holding at most `limit` tokens and refilling at `limit` tokens a second. A
process takes tokens from it in small leases, `lease_size(limit)` at a time
with one UPDATE ... RETURNING, and spends them in memory; only a request that
finds the process's lease empty waits for the database. When the bucket is
empty, the process refuses the key's requests from memory until the bucket
holds a token again, so an overloaded key costs no query per request either.

The bound: a process leases again only when its lease is spent, so at any
moment each of P processes holds at most `lease_size` unspent tokens. Over
any interval of t seconds the accepted requests of a key are therefore at
most `limit + limit * t + P * lease_size`: the bucket's own token-bucket bound
plus what the processes held when the interval began. With the default 100
requests/s the lease is 10 tokens, so two workers overshoot by 20 at most.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from dataclasses import dataclass, field

from adapters.postgres.rate_buckets import PostgresRateBuckets

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT_PER_S = 100  # seed 000: "Default: 100 requests/second"
LEASE_DIVISOR = 10  # a lease is a tenth of a second's worth of tokens...
MAX_LEASE_TOKENS = 100  # ...but never more than this, to bound the overshoot
MAX_TRACKED_KEYS = 100_000
# If the database cannot be asked, requests are let through for this long
# before trying again: the limiter must not turn a database hiccup into an
# outage of its own, nor queue every request behind a dead connection.
FAIL_OPEN_S = 1.0


def lease_size(limit_per_s: int) -> int:
    return max(1, min(MAX_LEASE_TOKENS, limit_per_s // LEASE_DIVISOR))


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at_unix_s: int  # when the bucket will be full again
    retry_after_s: int  # on a refusal: whole seconds until a token is back

    def headers(self) -> list[tuple[bytes, bytes]]:
        pairs = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_at_unix_s).encode()),
        ]
        if not self.allowed:
            pairs.append((b"retry-after", str(self.retry_after_s).encode()))
        return pairs


@dataclass(slots=True)
class _KeyState:
    limit: int
    local: int = 0  # leased tokens this process has not spent yet
    shared_left: float = 0.0  # the shared bucket's level at the last lease
    refused_until: float = 0.0  # monotonic time the shared bucket is empty until
    open_until: float = 0.0  # monotonic time to fail open until
    pending: asyncio.Future[None] | None = field(default=None)


class RateLimiter:
    """The per-process side: leases from the shared buckets and spends them.
    Used from one event loop; the only blocking call runs in a thread."""

    def __init__(self, buckets: PostgresRateBuckets, default_limit_per_s: int) -> None:
        self._buckets = buckets
        self.default_limit_per_s = default_limit_per_s
        self._states: dict[uuid.UUID, _KeyState] = {}

    async def take(self, key_id: uuid.UUID, limit_per_s: int | None) -> Decision:
        limit = limit_per_s or self.default_limit_per_s
        state = self._states.get(key_id)
        if state is None:
            if len(self._states) >= MAX_TRACKED_KEYS:
                self._states.clear()  # unspent leases are forfeit: errs on the strict side
            state = self._states[key_id] = _KeyState(limit)
        if state.limit != limit:
            state.limit = limit
            state.local = min(state.local, lease_size(limit))
        while True:
            if state.local > 0:
                state.local -= 1
                return _allowed(state)
            now = time.monotonic()
            if now < state.open_until:
                return _allowed(state)
            if now < state.refused_until:
                return _refused(state, state.refused_until - now)
            if state.pending is None:
                return await self._lease(key_id, state)
            # Another request of this key is leasing: wait for it, then look again.
            await asyncio.shield(state.pending)

    async def _lease(self, key_id: uuid.UUID, state: _KeyState) -> Decision:
        pending: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.pending = pending
        try:
            lease = await asyncio.to_thread(
                self._buckets.lease, key_id, state.limit, lease_size(state.limit)
            )
        except Exception:
            log.warning("rate limit lease failed; letting requests through for %ss",
                        FAIL_OPEN_S, exc_info=True)
            state.open_until = time.monotonic() + FAIL_OPEN_S
            return _allowed(state)
        finally:
            state.pending = None
            pending.set_result(None)
        state.shared_left = lease.tokens_left
        if lease.taken == 0:
            wait_s = (1.0 - lease.tokens_left) / state.limit
            state.refused_until = time.monotonic() + wait_s
            return _refused(state, wait_s)
        state.local = lease.taken - 1
        return _allowed(state)


def _remaining(state: _KeyState) -> int:
    return max(0, min(state.limit, state.local + math.floor(state.shared_left)))


def _allowed(state: _KeyState) -> Decision:
    remaining = _remaining(state)
    refill_s = (state.limit - remaining) / state.limit
    return Decision(True, state.limit, remaining, math.ceil(time.time() + refill_s), 0)


def _refused(state: _KeyState, wait_s: float) -> Decision:
    return Decision(
        False, state.limit, 0, math.ceil(time.time() + 1.0), max(1, math.ceil(wait_s))
    )
