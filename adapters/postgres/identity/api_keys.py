"""API keys in PostgreSQL: issued with a random secret stored as SHA-256,
listed, revoked, and verified from an in-process cache.

Verification is on every request's path. A warm check is a dictionary read,
one SHA-256 of the presented secret and a constant-time compare: no query and
no slow hash. Secrets are 256 random bits, so a fast hash is safe against
guessing (there is no dictionary to try), unlike a password.

Revocation: the process that revokes a key drops it from its cache at once.
Other processes notice within CACHE_TTL_S, the life of a cache entry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg.rows import kwargs_row
from psycopg_pool import ConnectionPool

from adapters.postgres.ttl_cache import TtlCache
from application.identity.api_keys import CreatedKey, KeyInfo
from application.identity.principal import Principal
from domain.api_keys import PERMISSIONS, check_key_count

LIVE_KEY_PREFIX = "bsms_live_"
TEST_KEY_PREFIX = "bsms_test_"
LIVE_SECRET_PREFIX = "sk_live_"  # noqa: S105 - a prefix, not a secret
TEST_SECRET_PREFIX = "sk_test_"  # noqa: S105 - a prefix, not a secret
KEY_RANDOM_BYTES = 18
SECRET_RANDOM_BYTES = 32  # 256 bits: see the module's note on hashing
# Keys change rarely and are read on every request: keep them for a short
# while, so that a key revoked in another process stops working within this.
CACHE_TTL_S = 10.0
CACHE_MAX_ENTRIES = 100_000

_KEY_COLUMNS = "id, name, key AS api_key, sandbox, permissions, created_at"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    api_key: str
    api_secret: str
    sandbox: bool


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What a verified credential may do, and how fast."""

    principal: Principal
    # The account's own limit, or None for the configured default.
    rate_limit_per_s: int | None

    @property
    def key_id(self) -> uuid.UUID:
        assert self.principal.key_id is not None
        return self.principal.key_id


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _key_info(*, permissions: list[str], **columns: Any) -> KeyInfo:
    """A key from its columns, by name (a text[] comes back as a list)."""
    return KeyInfo(**columns, permissions=tuple(permissions))


class PostgresApiKeys:
    """Implements application.identity.api_keys.ApiKeyStore, and verifies keys."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._cache: TtlCache[str, tuple[bytes, KeyGrant] | bool] = TtlCache(
            CACHE_TTL_S, CACHE_MAX_ENTRIES
        )
        self._revocation_listeners: list[Callable[[uuid.UUID], None]] = []

    def on_revoke(self, listener: Callable[[uuid.UUID], None]) -> None:
        """`listener(key_id)` runs after a key is revoked in this process."""
        self._revocation_listeners.append(listener)

    def create_key(
        self, account_id: str, *, sandbox: bool, name: str, permissions: tuple[str, ...],
        check_count: Callable[[int], None],
    ) -> CreatedKey:
        key_prefix, secret_prefix = (
            (TEST_KEY_PREFIX, TEST_SECRET_PREFIX) if sandbox
            else (LIVE_KEY_PREFIX, LIVE_SECRET_PREFIX)
        )
        api_key = key_prefix + secrets.token_urlsafe(KEY_RANDOM_BYTES)
        api_secret = secret_prefix + secrets.token_urlsafe(SECRET_RANDOM_BYTES)
        with self._pool.connection() as conn, conn.transaction():
            # The account row's lock serialises this account's key creations,
            # so that the count below cannot be passed by two at once.
            conn.execute("SELECT 1 FROM accounts WHERE id = %s FOR UPDATE", (account_id,))
            active = conn.execute(
                "SELECT count(*) FROM api_keys WHERE account_id = %s AND revoked_at IS NULL",
                (account_id,),
            ).fetchone()
            assert active is not None
            check_count(int(active[0]))
            with conn.cursor(row_factory=kwargs_row(_key_info)) as cur:
                info = cur.execute(
                    "INSERT INTO api_keys"
                    " (id, account_id, key, secret_sha256, sandbox, name, permissions)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    f" RETURNING {_KEY_COLUMNS}",
                    (uuid.uuid4(), account_id, api_key, hash_secret(api_secret), sandbox, name,
                     list(permissions)),
                ).fetchone()
        assert info is not None
        return CreatedKey(info, api_secret)

    def issue(self, account_id: str, *, sandbox: bool, name: str = "") -> IssuedKey:
        """A key with every permission, for operators' tools and tests."""
        created = self.create_key(
            account_id, sandbox=sandbox, name=name or "default", permissions=PERMISSIONS,
            check_count=check_key_count,
        )
        return IssuedKey(created.info.api_key, created.api_secret, sandbox)

    def active_keys(self, account_id: str) -> list[KeyInfo]:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=kwargs_row(_key_info)
        ) as cur:
            return cur.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys"
                " WHERE account_id = %s AND revoked_at IS NULL ORDER BY created_at, id",
                (account_id,),
            ).fetchall()

    def revoke_key(self, account_id: str, key_id: uuid.UUID) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                "UPDATE api_keys SET revoked_at = now()"
                " WHERE id = %s AND account_id = %s AND revoked_at IS NULL RETURNING key",
                (key_id, account_id),
            ).fetchone()
        if row is None:
            return False
        self._cache.discard(str(row[0]))
        for listener in self._revocation_listeners:
            listener(key_id)
        return True

    def forget_account(self, account_id: str) -> None:
        """Drops the account's cached keys, after its settings changed."""
        self._cache.discard_where(
            lambda entry: isinstance(entry, tuple) and entry[1].principal.account_id == account_id
        )

    def cached(self, api_key: str, api_secret: str) -> KeyGrant | bool | None:
        """The verdict from the cache alone: a grant, None for a bad
        credential, or False when the key is not cached (ask `verify`)."""
        entry = self._cache.get(api_key)
        if entry is None:
            return False
        return _check(entry, api_secret)

    def verify(self, api_key: str, api_secret: str) -> KeyGrant | None:
        """The key's grant if the secret matches and the key is active."""
        entry = self._cache.get(api_key)
        if entry is None:
            entry = self._load(api_key)
            self._cache.put(api_key, entry)
        return _check(entry, api_secret)

    def _load(self, api_key: str) -> tuple[bytes, KeyGrant] | bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT k.id, k.account_id, k.secret_sha256, k.sandbox, k.permissions,"
                " a.rate_limit_per_s FROM api_keys k JOIN accounts a ON a.id = k.account_id"
                " WHERE k.key = %s AND k.revoked_at IS NULL",
                (api_key,),
            ).fetchone()
        if row is None:
            return False  # cached too, so a flood of bad keys costs no queries
        principal = Principal(row[1], row[0], row[3], frozenset(row[4]))
        return bytes(row[2]), KeyGrant(principal, row[5])


def _check(entry: tuple[bytes, KeyGrant] | bool, api_secret: str) -> KeyGrant | None:
    if not isinstance(entry, tuple):
        return None
    secret_sha256, grant = entry
    if not hmac.compare_digest(secret_sha256, hash_secret(api_secret)):
        return None
    return grant
