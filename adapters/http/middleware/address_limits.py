"""Limits per client address: sign-in attempts (login, register,
forgot-password) and API credentials that fail to verify.

They use the per-key limiter's machinery (adapters/http/middleware/rate_limit.py): one
bucket per (purpose, address) in the shared `rate_buckets` table, so a limit
holds across API processes, and a bounded number of them tracked in memory
per process. The address is the socket's peer, or what a trusted proxy says
(adapters/http/middleware/client_address.py).

Sign-in attempts take a token each, and failed credentials one each
failure, each asking the shared bucket (no process holds leased tokens), so
the counts are exact across processes. Once an address has no failures
left, every API credential it sends is refused before it is checked, from
memory, until a token is due: otherwise the refusal would only rename the
401, and each guess would still be verified (and a distinct guessed key
still be looked up).
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from litestar import Request, Response
from litestar.types import Scope

from adapters.config.identity import IdentitySettings
from adapters.http.errors import error_response
from adapters.http.middleware.client_address import TrustedProxies, client_address
from adapters.http.middleware.rate_limit import Decision, RateLimiter, Rule
from adapters.postgres.rate_buckets import PostgresRateBuckets
from domain.errors import DomainError

# Bucket ids are derived from the purpose and the address, so every process
# finds the same row.
BUCKET_NAMESPACE = uuid.UUID("6f1c2a57-3d0e-4a8b-9b51-5a3e2f7c9d10")
SIGN_IN = "sign-in"
FAILED_KEY = "failed-key"
# Addresses tracked in memory per process (about 300 bytes each): past this
# the memory is dropped, and the shared buckets, which keep the counts, are
# asked again.
MAX_TRACKED_ADDRESS_BUCKETS = 50_000


class TooManyAttempts(DomainError):
    code = "RATE_LIMITED"


def bucket_id(purpose: str, client: str) -> uuid.UUID:
    return uuid.uuid5(BUCKET_NAMESPACE, f"{purpose}/{client}")


class AddressLimits:
    def __init__(self, buckets: PostgresRateBuckets, settings: IdentitySettings) -> None:
        # One token a lease: each attempt and each failure asks the shared
        # bucket (it costs a hash or a failed check anyway), so the limits are
        # exact across processes, and a process that stops forfeits nothing.
        self._limiter = RateLimiter(
            buckets, default_limit_per_s=1, max_tracked_buckets=MAX_TRACKED_ADDRESS_BUCKETS,
            max_lease_tokens=1,
        )
        self._trusted = TrustedProxies(settings.trusted_proxies)
        self._sign_in = Rule.per_minute(settings.sign_in_attempts_per_min)
        self._failed_keys = Rule.per_minute(settings.failed_key_auths_per_min)
        # Monotonic time until which each refused address is refused.
        self._keys_refused_until: dict[str, float] = {}

    def client(self, scope: Scope) -> str:
        return client_address(scope, self._trusted)

    async def sign_in(self, client: str) -> None:
        """One sign-in attempt from `client`; TooManyAttempts when over."""
        decision = await self._limiter.take_from(bucket_id(SIGN_IN, client), self._sign_in)
        if not decision.allowed:
            raise TooManyAttempts(
                "Too many sign-in attempts from this address; retry after the"
                " Retry-After seconds",
                retry_after=decision.retry_after_s,
            )

    def failed_key_refusal(self, client: str) -> int | None:
        """Seconds until `client` may try an API credential again, if it has
        spent its failures; known from memory, on every keyed request's path."""
        until = self._keys_refused_until.get(client)
        if until is None:
            return None
        wait_s = until - time.monotonic()
        if wait_s <= 0:
            self._keys_refused_until.pop(client, None)
            return None
        return max(1, math.ceil(wait_s))

    async def count_failed_key(self, client: str) -> Decision:
        """One credential from `client` failed; refused when it is one too many."""
        decision = await self._limiter.take_from(bucket_id(FAILED_KEY, client), self._failed_keys)
        if not decision.allowed:
            if len(self._keys_refused_until) >= MAX_TRACKED_ADDRESS_BUCKETS:
                self._keys_refused_until.clear()
            self._keys_refused_until[client] = time.monotonic() + decision.retry_after_s
        return decision


FAILED_KEYS_MESSAGE = (
    "Too many invalid API credentials from this address; retry after the Retry-After seconds"
)


def retry_after_headers(retry_after_s: int) -> list[tuple[bytes, bytes]]:
    return [(b"retry-after", str(retry_after_s).encode())]


def error_with_retry_after(
    request: Request[Any, Any, Any], exc: DomainError
) -> Response[dict[str, Any]]:
    """The error envelope, with Retry-After when the error says when to come
    back (a rate limit, a lockout, every hashing slot busy), in its details
    or as a `retry_after_s` of its class."""
    retry_after = exc.details.get(
        "retry_after_s", exc.details.get("retry_after", getattr(exc, "retry_after_s", None))
    )
    headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else None
    return error_response(request, exc.code, exc.message, exc.details, headers)
