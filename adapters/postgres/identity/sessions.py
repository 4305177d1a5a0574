"""Sessions, their refresh tokens and password-reset tokens.

Only SHA-256 hashes of tokens are stored. A session is one family of refresh
tokens; revoking it ends every token of the family and, within the cache
bound of `SessionStates`, every access token issued for it.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

from application.identity.ports import Rotation, RotationResult

# Access tokens are checked against their session's state, kept this long in
# each process: a logout or a role change shows within this bound, and a busy
# session costs one query per this many seconds.
SESSION_CACHE_TTL_S = 10.0
SESSION_CACHE_MAX_ENTRIES = 100_000


class PostgresSessions:
    """Implements SessionStore. Revoking drops the sessions from this process's
    `SessionStates` cache at once; other processes notice within its TTL."""

    def __init__(self, pool: ConnectionPool, states: SessionStates) -> None:
        self._pool = pool
        self._states = states

    def open_session(
        self, session_id: uuid.UUID, user_id: uuid.UUID, refresh_sha256: bytes,
        expires_at: datetime,
    ) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO user_sessions (id, user_id, expires_at) VALUES (%s, %s, %s)",
                (session_id, user_id, expires_at),
            )
            conn.execute(
                "INSERT INTO refresh_tokens (token_sha256, session_id, expires_at)"
                " VALUES (%s, %s, %s)",
                (refresh_sha256, session_id, expires_at),
            )

    def rotate(
        self, refresh_sha256: bytes, new_sha256: bytes, new_expires_at: datetime, now: datetime
    ) -> RotationResult:
        with self._pool.connection() as conn, conn.transaction():
            # Locking the token row makes two concurrent uses queue: the
            # first rotates it, the second then sees it rotated (reuse).
            row = conn.execute(
                "SELECT t.session_id, t.expires_at, t.rotated_at, s.user_id, s.revoked_at"
                " FROM refresh_tokens t JOIN user_sessions s ON s.id = t.session_id"
                " WHERE t.token_sha256 = %s FOR UPDATE OF t",
                (refresh_sha256,),
            ).fetchone()
            if row is None:
                return RotationResult(Rotation.INVALID)
            session_id, expires_at, rotated_at, user_id, revoked_at = row
            if rotated_at is not None:
                return RotationResult(Rotation.REUSED, session_id, user_id)
            if revoked_at is not None or expires_at <= now:
                return RotationResult(Rotation.INVALID, session_id, user_id)
            conn.execute(
                "UPDATE refresh_tokens SET rotated_at = %s WHERE token_sha256 = %s",
                (now, refresh_sha256),
            )
            conn.execute(
                "INSERT INTO refresh_tokens (token_sha256, session_id, expires_at)"
                " VALUES (%s, %s, %s)",
                (new_sha256, session_id, new_expires_at),
            )
            conn.execute(
                "UPDATE user_sessions SET expires_at = %s WHERE id = %s",
                (new_expires_at, session_id),
            )
        return RotationResult(Rotation.ROTATED, session_id, user_id)

    def session_of(self, refresh_sha256: bytes) -> uuid.UUID | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT session_id FROM refresh_tokens WHERE token_sha256 = %s",
                (refresh_sha256,),
            ).fetchone()
        return None if row is None else row[0]

    def revoke_session(self, session_id: uuid.UUID, reason: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE user_sessions SET revoked_at = now(), revoked_reason = %s"
                " WHERE id = %s AND revoked_at IS NULL",
                (reason, session_id),
            )
        self._states.forget(session_id)

    def revoke_user_sessions(
        self, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None
    ) -> int:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "UPDATE user_sessions SET revoked_at = now(), revoked_reason = %s"
                " WHERE user_id = %s AND revoked_at IS NULL"
                " AND id IS DISTINCT FROM %s RETURNING id",
                (reason, user_id, keep),
            ).fetchall()
        for (session_id,) in rows:
            self._states.forget(session_id)
        return len(rows)


class PostgresResetTokens:
    """Implements ResetTokenStore."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def add(self, user_id: uuid.UUID, token_sha256: bytes, expires_at: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO password_resets (token_sha256, user_id, expires_at)"
                " VALUES (%s, %s, %s)",
                (token_sha256, user_id, expires_at),
            )

    def consume(self, token_sha256: bytes, now: datetime) -> uuid.UUID | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "UPDATE password_resets SET used_at = %s"
                " WHERE token_sha256 = %s AND used_at IS NULL AND expires_at > %s"
                " RETURNING user_id",
                (now, token_sha256, now),
            ).fetchone()
        return None if row is None else row[0]


@dataclass(frozen=True, slots=True)
class SessionState:
    """What an access token's session says now about its user."""

    active: bool
    user_id: uuid.UUID
    account_id: str
    role: str
    platform_admin: bool


class SessionStates:
    """The live state of sessions, cached per process for SESSION_CACHE_TTL_S."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._items: dict[uuid.UUID, tuple[float, SessionState | None]] = {}
        self._guard = threading.Lock()

    def state(self, session_id: uuid.UUID) -> SessionState | None:
        with self._guard:
            item = self._items.get(session_id)
        if item is not None and item[0] >= time.monotonic():
            return item[1]
        state = self._load(session_id)
        with self._guard:
            if len(self._items) >= SESSION_CACHE_MAX_ENTRIES:
                self._items.clear()
            self._items[session_id] = (time.monotonic() + SESSION_CACHE_TTL_S, state)
        return state

    def forget(self, session_id: uuid.UUID) -> None:
        """Drop a session this process just changed, so it sees the change at once."""
        with self._guard:
            self._items.pop(session_id, None)

    def _load(self, session_id: uuid.UUID) -> SessionState | None:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(SessionState)
        ) as cur:
            return cur.execute(
                "SELECT s.revoked_at IS NULL AND s.expires_at > now() AS active,"
                " u.id AS user_id, u.account_id, u.role, u.platform_admin"
                " FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = %s",
                (session_id,),
            ).fetchone()
