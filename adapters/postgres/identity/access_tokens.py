"""OAuth client-credentials access tokens (POST /v1/oauth/access_token).

A token is 256 random bits behind a recognisable prefix, stored only as its
SHA-256 with an expiry, and carries its API key's permissions. It stops
working when it expires or when its key is revoked (at once in the revoking
process, within CACHE_TTL_S elsewhere, as for keys).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from adapters.postgres.identity.api_keys import (
    CACHE_MAX_ENTRIES,
    CACHE_TTL_S,
    KeyGrant,
    hash_secret,
)
from adapters.postgres.ttl_cache import TtlCache
from application.identity.principal import Principal
from domain.errors import DomainError

ACCESS_TOKEN_PREFIX = "bsms_at_"  # noqa: S105 - a prefix, not a secret
TOKEN_RANDOM_BYTES = 32
ACCESS_TOKEN_TTL_S = 3600  # seed 004: "The token will be valid for 1 hour"
# A client should reuse its token for the hour. This bounds the rows one key
# can pile up by asking for a fresh token on every call.
MAX_LIVE_TOKENS_PER_KEY = 1000


class TooManyTokens(DomainError):
    code = "RATE_LIMITED"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in_s: int


class PostgresAccessTokens:
    def __init__(self, pool: ConnectionPool, wall_clock: Callable[[], float] = time.time) -> None:
        self._pool = pool
        self._now = wall_clock
        # token SHA-256 -> (grant, expiry as a Unix time), or False if unknown
        self._cache: TtlCache[bytes, tuple[KeyGrant, float] | bool] = TtlCache(
            CACHE_TTL_S, CACHE_MAX_ENTRIES
        )

    def issue(self, grant: KeyGrant) -> IssuedToken:
        token = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)
        expires_at = self._now() + ACCESS_TOKEN_TTL_S
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT 1 FROM api_keys WHERE id = %s FOR UPDATE", (grant.key_id,))
            conn.execute(
                "DELETE FROM oauth_access_tokens WHERE key_id = %s AND expires_at <= now()",
                (grant.key_id,),
            )
            live = conn.execute(
                "SELECT count(*) FROM oauth_access_tokens WHERE key_id = %s", (grant.key_id,)
            ).fetchone()
            assert live is not None
            if int(live[0]) >= MAX_LIVE_TOKENS_PER_KEY:
                raise TooManyTokens(
                    f"This client holds {MAX_LIVE_TOKENS_PER_KEY} live tokens; reuse one until"
                    " it expires", limit=MAX_LIVE_TOKENS_PER_KEY,
                )
            conn.execute(
                "INSERT INTO oauth_access_tokens (token_sha256, key_id, expires_at)"
                " VALUES (%s, %s, to_timestamp(%s))",
                (hash_secret(token), grant.key_id, expires_at),
            )
        return IssuedToken(token, ACCESS_TOKEN_TTL_S)

    def cached(self, token: str) -> KeyGrant | bool | None:
        """The verdict from the cache alone, or False when not cached."""
        entry = self._cache.get(hash_secret(token))
        if entry is None:
            return False
        return self._check(entry)

    def verify(self, token: str) -> KeyGrant | None:
        digest = hash_secret(token)
        entry = self._cache.get(digest)
        if entry is None:
            entry = self._load(digest)
            self._cache.put(digest, entry)
        return self._check(entry)

    def forget_key(self, key_id: uuid.UUID) -> None:
        """Drops the cached tokens of a revoked key."""
        self._cache.discard_where(
            lambda entry: isinstance(entry, tuple) and entry[0].key_id == key_id
        )

    def forget_account(self, account_id: str) -> None:
        self._cache.discard_where(
            lambda entry: isinstance(entry, tuple)
            and entry[0].principal.account_id == account_id
        )

    def _check(self, entry: tuple[KeyGrant, float] | bool) -> KeyGrant | None:
        if not isinstance(entry, tuple):
            return None
        grant, expires_at = entry
        return grant if self._now() < expires_at else None

    def _load(self, digest: bytes) -> tuple[KeyGrant, float] | bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT k.id, k.account_id, k.sandbox, k.permissions, a.rate_limit_per_s,"
                " extract(epoch FROM t.expires_at)::float8"
                " FROM oauth_access_tokens t JOIN api_keys k ON k.id = t.key_id"
                " JOIN accounts a ON a.id = k.account_id"
                " WHERE t.token_sha256 = %s AND k.revoked_at IS NULL",
                (digest,),
            ).fetchone()
        if row is None:
            return False
        principal = Principal(row[1], row[0], row[2], frozenset(row[3]))
        return KeyGrant(principal, row[4]), float(row[5])
