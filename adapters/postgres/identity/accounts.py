"""Accounts and their API keys, in ordinary tables beside the event store."""

from __future__ import annotations

import uuid

from psycopg_pool import ConnectionPool

from adapters.postgres.identity.access_tokens import PostgresAccessTokens
from adapters.postgres.identity.api_keys import IssuedKey, PostgresApiKeys
from adapters.postgres.rate_buckets import PostgresRateBuckets
from adapters.postgres.ttl_cache import TtlCache
from application.identity.principal import Principal
from application.ports import AccountNotFound, AccountProfile
from domain.api_keys import PERMISSIONS

# Every permission a credential can hold (users of an account hold them all).
DEFAULT_PERMISSIONS = PERMISSIONS
# Profiles change rarely and are read on every send: keep them for a short
# while, so that an edit takes effect within this bound.
CACHE_TTL_S = 10.0
CACHE_MAX_ENTRIES = 100_000
MAX_RATE_LIMIT_PER_S = 1_000_000  # as the column's CHECK


class PostgresAccounts:
    """Implements AccountDirectory, and issues and verifies API keys."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._profiles: TtlCache[str, AccountProfile] = TtlCache(CACHE_TTL_S, CACHE_MAX_ENTRIES)
        self.keys = PostgresApiKeys(pool)
        self.tokens = PostgresAccessTokens(pool)
        self.rate_buckets = PostgresRateBuckets(pool)
        self.keys.on_revoke(self.tokens.forget_key)

    def create_account(
        self, name: str, currency: str, default_country: str | None
    ) -> AccountProfile:
        account_id = str(uuid.uuid4())
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO accounts (id, name, currency, default_country)"
                " VALUES (%s, %s, %s, %s)",
                (account_id, name, currency, default_country),
            )
        return AccountProfile(account_id, name, currency, default_country)

    def profile(self, account_id: str) -> AccountProfile:
        cached = self._profiles.get(account_id)
        if cached is not None:
            return cached
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT name, currency, default_country FROM accounts WHERE id = %s",
                (account_id,),
            ).fetchone()
            if row is None:
                raise AccountNotFound(account_id)
            overrides = conn.execute(
                "SELECT country, price_micros FROM rate_overrides WHERE account_id = %s",
                (account_id,),
            ).fetchall()
        profile = AccountProfile(
            account_id=account_id,
            name=row[0],
            currency=row[1],
            default_country=row[2],
            rate_overrides_micros={c: int(p) for c, p in overrides},
        )
        self._profiles.put(account_id, profile)
        return profile

    def forget_profile(self, account_id: str) -> None:
        """Drop this process's cached profile after a change; other processes
        see the change within CACHE_TTL_S."""
        self._profiles.discard(account_id)

    def issue_key(self, account_id: str, *, sandbox: bool, name: str = "") -> IssuedKey:
        """A key with every permission, for operators' tools and tests."""
        return self.keys.issue(account_id, sandbox=sandbox, name=name)

    def authenticate(self, api_key: str, api_secret: str) -> Principal | None:
        """The key's principal if the secret matches and the key is active."""
        grant = self.keys.verify(api_key, api_secret)
        return None if grant is None else grant.principal

    def set_rate_limit(self, account_id: str, requests_per_s: int | None) -> None:
        """The account's requests per second for each of its keys; None
        restores the configured default. Takes effect at once in this
        process and within the key cache's life (10 s) in the others."""
        if requests_per_s is not None and not 1 <= requests_per_s <= MAX_RATE_LIMIT_PER_S:
            raise ValueError(f"a rate limit is 1 to {MAX_RATE_LIMIT_PER_S} requests per second")
        with self._pool.connection() as conn:
            updated = conn.execute(
                "UPDATE accounts SET rate_limit_per_s = %s WHERE id = %s",
                (requests_per_s, account_id),
            ).rowcount
        if updated != 1:
            raise AccountNotFound(account_id)
        self.keys.forget_account(account_id)
        self.tokens.forget_account(account_id)
