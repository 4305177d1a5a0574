"""Accounts and their API keys, in ordinary tables beside the event store."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from application.ports import AccountNotFound, AccountProfile

LIVE_KEY_PREFIX = "bsms_live_"
TEST_KEY_PREFIX = "bsms_test_"
LIVE_SECRET_PREFIX = "sk_live_"  # noqa: S105 - a prefix, not a secret
TEST_SECRET_PREFIX = "sk_test_"  # noqa: S105 - a prefix, not a secret
DEFAULT_PERMISSIONS = (
    "sms.send", "sms.read", "billing.read", "reports.read", "contacts.read",
    "contacts.write", "templates.read", "templates.write", "webhooks.write",
    "settings.write",
)
# Profiles and keys change rarely and are read on every request: keep them for
# a short while, so that a revoked key stops working within this bound.
CACHE_TTL_S = 10.0
CACHE_MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class IssuedKey:
    api_key: str
    api_secret: str
    sandbox: bool


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for, once its credentials check out."""

    account_id: str
    key_id: uuid.UUID | None
    sandbox: bool
    permissions: frozenset[str]
    # Set when a signed-in user (not an API key) makes the request.
    user_id: uuid.UUID | None = None
    role: str | None = None  # owner, admin or member of the account
    # Platform operators run /v1/admin/*; only a user can be one, never a key.
    platform_admin: bool = False


def _hash_secret(secret: str) -> bytes:
    # Secrets are 256 random bits, so a fast hash is safe against guessing:
    # there is no dictionary to try. That keeps verification off the
    # request's critical path, unlike a password hash.
    return hashlib.sha256(secret.encode()).digest()


class _TtlCache:
    def __init__(self) -> None:
        self._items: dict[str, tuple[float, object]] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> object | None:
        with self._guard:
            item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: str, value: object) -> None:
        with self._guard:
            if len(self._items) >= CACHE_MAX_ENTRIES:
                self._items.clear()
            self._items[key] = (time.monotonic() + CACHE_TTL_S, value)

    def forget(self, key: str) -> None:
        with self._guard:
            self._items.pop(key, None)


class PostgresAccounts:
    """Implements AccountDirectory, and issues and verifies API keys."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._profiles = _TtlCache()
        self._keys = _TtlCache()

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
        if isinstance(cached, AccountProfile):
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
        self._profiles.forget(account_id)

    def issue_key(self, account_id: str, *, sandbox: bool, name: str = "") -> IssuedKey:
        key_prefix, secret_prefix = (
            (TEST_KEY_PREFIX, TEST_SECRET_PREFIX) if sandbox
            else (LIVE_KEY_PREFIX, LIVE_SECRET_PREFIX)
        )
        api_key = key_prefix + secrets.token_urlsafe(18)
        api_secret = secret_prefix + secrets.token_urlsafe(32)
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO api_keys"
                " (id, account_id, key, secret_sha256, sandbox, name, permissions)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (uuid.uuid4(), account_id, api_key, _hash_secret(api_secret), sandbox,
                 name, list(DEFAULT_PERMISSIONS)),
            )
        return IssuedKey(api_key, api_secret, sandbox)

    def authenticate(self, api_key: str, api_secret: str) -> Principal | None:
        """The key's principal if the secret matches and the key is live."""
        entry = self._keys.get(api_key)
        if entry is None:
            entry = self._load_key(api_key)
            self._keys.put(api_key, entry)
        if not isinstance(entry, tuple):
            return None
        secret_sha256, principal = entry
        if not hmac.compare_digest(secret_sha256, _hash_secret(api_secret)):
            return None
        assert isinstance(principal, Principal)
        return principal

    def _load_key(self, api_key: str) -> tuple[bytes, Principal] | bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT id, account_id, secret_sha256, sandbox, permissions"
                " FROM api_keys WHERE key = %s AND revoked_at IS NULL",
                (api_key,),
            ).fetchone()
        if row is None:
            return False  # cached too, so a flood of bad keys costs no queries
        principal = Principal(row[1], row[0], row[3], frozenset(row[4]))
        return bytes(row[2]), principal
