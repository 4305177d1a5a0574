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

The same machinery limits per client address (adapters/http/middleware/address_limits.py)
with buckets of another shape: `Rule(capacity, refill_per_s)`, e.g. 20 sign-in
attempts refilled over a minute. An API key's bucket is `Rule(limit, limit)`.
Each limiter tracks a bounded number of buckets in memory, and prunes the
shared table of buckets that are full again now and then.
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
MAX_KEPT_RULES = 1_000
# How often a process deletes the shared buckets that are full again.
PRUNE_INTERVAL_S = 60.0
# If the database cannot be asked, requests are let through for this long
# before trying again: the limiter must not turn a database hiccup into an
# outage of its own, nor queue every request behind a dead connection.
FAIL_OPEN_S = 1.0


def lease_size(capacity: int, max_lease_tokens: int = MAX_LEASE_TOKENS) -> int:
    return max(1, min(max_lease_tokens, capacity // LEASE_DIVISOR))


@dataclass(frozen=True, slots=True)
class Rule:
    """A token bucket's shape: it holds `capacity` tokens at most (the burst)
    and refills at `refill_per_s` tokens a second."""

    capacity: int
    refill_per_s: float

    @classmethod
    def per_second(cls, limit_per_s: int) -> Rule:
        return cls(limit_per_s, float(limit_per_s))

    @classmethod
    def per_minute(cls, limit_per_min: int) -> Rule:
        return cls(limit_per_min, limit_per_min / 60.0)


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
    rule: Rule
    local: int = 0  # leased tokens this process has not spent yet
    shared_left: float = 0.0  # the shared bucket's level at the last lease
    refused_until: float = 0.0  # monotonic time the shared bucket is empty until
    open_until: float = 0.0  # monotonic time to fail open until
    pending: asyncio.Future[None] | None = field(default=None)


class RateLimiter:
    """The per-process side: leases from the shared buckets and spends them.
    Used from one event loop; the only blocking calls run in a thread."""

    def __init__(
        self, buckets: PostgresRateBuckets, default_limit_per_s: int,
        max_tracked_buckets: int = MAX_TRACKED_KEYS, max_lease_tokens: int = MAX_LEASE_TOKENS,
    ) -> None:
        """`max_lease_tokens=1` makes every take ask the shared bucket: an
        exact count across processes, for requests that are rare or costly
        anyway (no process then holds tokens it may never spend)."""
        self._buckets = buckets
        self.default_limit_per_s = default_limit_per_s
        self._max_tracked_buckets = max_tracked_buckets
        self._max_lease_tokens = max_lease_tokens
        self._states: dict[uuid.UUID, _KeyState] = {}
        self._key_rules: dict[int, Rule] = {}
        self._next_prune_at = time.monotonic() + PRUNE_INTERVAL_S
        self._pruning: asyncio.Future[None] | None = None

    async def take(self, key_id: uuid.UUID, limit_per_s: int | None) -> Decision:
        """A token from an API key's bucket: `limit_per_s`, or the default."""
        limit = limit_per_s or self.default_limit_per_s
        rule = self._key_rules.get(limit)
        if rule is None:  # few distinct limits: one Rule each, kept
            if len(self._key_rules) >= MAX_KEPT_RULES:
                self._key_rules.clear()
            rule = self._key_rules[limit] = Rule.per_second(limit)
        return await self.take_from(key_id, rule)

    async def take_from(self, bucket_id: uuid.UUID, rule: Rule) -> Decision:
        state = self._state(bucket_id, rule)
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
                return await self._lease(bucket_id, state)
            # Another request of this bucket is leasing: wait for it, then look again.
            await asyncio.shield(state.pending)

    def _state(self, bucket_id: uuid.UUID, rule: Rule) -> _KeyState:
        state = self._states.get(bucket_id)
        if state is None:
            if len(self._states) >= self._max_tracked_buckets:
                self._states.clear()  # unspent leases are forfeit: errs on the strict side
            state = self._states[bucket_id] = _KeyState(rule)
        if state.rule is not rule and state.rule != rule:
            state.rule = rule
            state.local = min(state.local, self._lease_size(rule))
        return state

    async def _lease(self, bucket_id: uuid.UUID, state: _KeyState) -> Decision:
        pending: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.pending = pending
        rule = state.rule
        try:
            lease = await asyncio.to_thread(
                self._buckets.lease, bucket_id, rule.refill_per_s, self._lease_size(rule),
                capacity=rule.capacity,
            )
        except Exception:
            log.warning("rate limit lease failed; letting requests through for %ss",
                        FAIL_OPEN_S, exc_info=True)
            state.open_until = time.monotonic() + FAIL_OPEN_S
            return _allowed(state)
        finally:
            state.pending = None
            pending.set_result(None)
        self._prune_if_due()
        state.shared_left = lease.tokens_left
        if lease.taken == 0:
            wait_s = (1.0 - lease.tokens_left) / rule.refill_per_s
            state.refused_until = time.monotonic() + wait_s
            return _refused(state, wait_s)
        state.local = lease.taken - 1
        return _allowed(state)

    def _lease_size(self, rule: Rule) -> int:
        return lease_size(rule.capacity, self._max_lease_tokens)

    def _prune_if_due(self) -> None:
        """Starts a prune in the background once per PRUNE_INTERVAL_S; no
        request waits for it."""
        if time.monotonic() < self._next_prune_at or self._pruning is not None:
            return
        self._next_prune_at = time.monotonic() + PRUNE_INTERVAL_S
        self._pruning = asyncio.ensure_future(self._prune())

    async def _prune(self) -> None:
        try:
            await asyncio.to_thread(self._buckets.prune)
        except Exception:
            log.warning("pruning full rate buckets failed", exc_info=True)
        finally:
            self._pruning = None


def _remaining(state: _KeyState) -> int:
    capacity = state.rule.capacity
    return max(0, min(capacity, state.local + math.floor(state.shared_left)))


def _allowed(state: _KeyState) -> Decision:
    remaining = _remaining(state)
    refill_s = (state.rule.capacity - remaining) / state.rule.refill_per_s
    return Decision(True, state.rule.capacity, remaining, math.ceil(time.time() + refill_s), 0)


def _refused(state: _KeyState, wait_s: float) -> Decision:
    full_s = state.rule.capacity / state.rule.refill_per_s
    return Decision(
        False, state.rule.capacity, 0, math.ceil(time.time() + full_s),
        max(1, math.ceil(wait_s)),
    )
