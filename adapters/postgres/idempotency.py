"""Idempotency keys: the first response to a key is kept and replayed, with
the authorisation checks its request passed, which a replay must pass too."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from psycopg_pool import ConnectionPool

# Kept at least this long; older keys are removed a batch at a time.
KEEP_HOURS = 24
PRUNE_BATCH = 1000
ABANDONED_AFTER_S = 60
# A claim can find its key's row gone (a failed request released it between
# our insert and our read); it then simply tries again, this many times.
CLAIM_ATTEMPTS = 3


class Claim(StrEnum):
    NEW = "new"  # this request runs
    IN_FLIGHT = "in_flight"  # the first request with this key has not finished
    MISMATCH = "mismatch"  # the key was used with a different request
    DONE = "done"  # replay the stored response


@dataclass(frozen=True, slots=True)
class RequiredAuthority:
    """What the request's handler required of its caller: the permissions it
    checked, and whether only a platform operator could make it."""

    permissions: frozenset[str] = frozenset()
    platform_admin: bool = False


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    content_type: str
    body: bytes
    required: RequiredAuthority = RequiredAuthority()


class PostgresIdempotencyKeys:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def claim(
        self, account_id: str, key: str, request_sha256: bytes
    ) -> tuple[Claim, StoredResponse | None]:
        for _ in range(CLAIM_ATTEMPTS):
            found = self._claim_once(account_id, key, request_sha256)
            if found is not None:
                return found
        return Claim.IN_FLIGHT, None  # claimed and released over and over: busy

    def _claim_once(
        self, account_id: str, key: str, request_sha256: bytes
    ) -> tuple[Claim, StoredResponse | None] | None:
        """The claim, or None if the key's row vanished while we looked."""
        with self._pool.connection() as conn:
            # A claim whose request never finished (its process died) is taken
            # over after a while by a retry of the same request.
            inserted = conn.execute(
                "INSERT INTO idempotency_keys (account_id, key, request_sha256)"
                " VALUES (%s, %s, %s) ON CONFLICT (account_id, key) DO UPDATE"
                " SET created_at = now()"
                " WHERE idempotency_keys.status_code IS NULL"
                " AND idempotency_keys.request_sha256 = EXCLUDED.request_sha256"
                " AND idempotency_keys.created_at < now() - make_interval(secs => %s)"
                " RETURNING key",
                (account_id, key, request_sha256, ABANDONED_AFTER_S),
            ).fetchone()
            if inserted is not None:
                return Claim.NEW, None
            row = conn.execute(
                "SELECT request_sha256, status_code, content_type, response_body,"
                " required_permissions, requires_platform_admin"
                " FROM idempotency_keys WHERE account_id = %s AND key = %s",
                (account_id, key),
            ).fetchone()
        if row is None:
            return None
        stored_sha256, status_code, content_type, body, permissions, platform_admin = row
        if bytes(stored_sha256) != request_sha256:
            return Claim.MISMATCH, None
        if status_code is None:
            return Claim.IN_FLIGHT, None
        required = RequiredAuthority(frozenset(permissions), bool(platform_admin))
        return Claim.DONE, StoredResponse(
            int(status_code), str(content_type), bytes(body), required
        )

    def complete(self, account_id: str, key: str, response: StoredResponse) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE idempotency_keys SET status_code = %s, content_type = %s,"
                " response_body = %s, required_permissions = %s,"
                " requires_platform_admin = %s WHERE account_id = %s AND key = %s",
                (
                    response.status_code, response.content_type, response.body,
                    sorted(response.required.permissions), response.required.platform_admin,
                    account_id, key,
                ),
            )

    def release(self, account_id: str, key: str) -> None:
        """Forget a key whose request failed on our side, so it can be retried."""
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE account_id = %s AND key = %s"
                " AND status_code IS NULL",
                (account_id, key),
            )

    def prune(self) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys"
                " WHERE created_at < now() - make_interval(hours => %s) LIMIT %s)",
                (KEEP_HOURS, PRUNE_BATCH),
            )
            return cursor.rowcount
