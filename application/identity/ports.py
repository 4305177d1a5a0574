"""What sign-in needs from the outside world: users, sessions, reset tokens,
password hashing, token signing and mail, as protocols."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

ROLES = ("owner", "admin", "member")


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    account_id: str
    email: str
    name: str
    role: str  # one of ROLES, within the user's account
    platform_admin: bool  # a platform operator, who may use /v1/admin/*
    password_hash: str | None  # None for a user who only signs in with OIDC
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewAccount:
    name: str
    currency: str
    default_country: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class NewUser:
    id: UUID
    email: str  # lower case
    name: str
    role: str
    platform_admin: bool
    password_hash: str | None
    oidc_subject: str | None = None


class UserStore(Protocol):
    def create_account_with_owner(self, account: NewAccount, owner: NewUser) -> User:
        """Create the account and its first user in one transaction; raises
        EmailTaken when the email already has a user."""
        ...

    def by_email(self, email: str) -> User | None: ...

    def by_id(self, user_id: UUID) -> User | None: ...

    def by_oidc_subject(self, subject: str) -> User | None: ...

    def link_oidc_subject(self, user_id: UUID, subject: str) -> None: ...

    def set_password(self, user_id: UUID, password_hash: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """Wrong passwords in a row for one email from one client address."""

    count: int
    locked_until: datetime | None  # set while the pair is locked out


class LoginFailureStore(Protocol):
    """Failed logins per (email, client address), whether or not the email
    has a user, so that a lockout neither reaches a victim signing in from
    elsewhere nor tells which emails exist. A pair's count is forgotten
    `lockout_s` after its last failure (and its record may then go)."""

    def failures(self, email: str, client: str, now: datetime) -> LoginFailures: ...

    def record_failure(
        self, email: str, client: str, *, now: datetime, max_failures: int, lockout_s: int
    ) -> LoginFailures:
        """Count a failure atomically; the one that reaches `max_failures`
        locks the pair until `now + lockout_s` and starts the count again."""
        ...

    def clear(self, email: str, client: str) -> None: ...

    def clear_email(self, email: str) -> None:
        """Lift every lockout of the email, from any address."""
        ...


class Rotation(enum.Enum):
    ROTATED = "rotated"
    REUSED = "reused"  # the token was rotated before: someone replays it
    INVALID = "invalid"  # unknown, expired, or its session is revoked


@dataclass(frozen=True, slots=True)
class RotationResult:
    outcome: Rotation
    session_id: UUID | None = None
    user_id: UUID | None = None


class SessionStore(Protocol):
    def open_session(
        self, session_id: UUID, user_id: UUID, refresh_sha256: bytes, expires_at: datetime
    ) -> None: ...

    def rotate(
        self, refresh_sha256: bytes, new_sha256: bytes, new_expires_at: datetime, now: datetime
    ) -> RotationResult:
        """Retire a refresh token and issue its successor, atomically, so
        that of two uses of one token exactly one rotates it."""
        ...

    def session_of(self, refresh_sha256: bytes) -> UUID | None: ...

    def revoke_session(self, session_id: UUID, reason: str) -> None: ...

    def revoke_user_sessions(
        self, user_id: UUID, reason: str, *, keep: UUID | None = None
    ) -> int: ...


class ResetTokenStore(Protocol):
    def add(self, user_id: UUID, token_sha256: bytes, expires_at: datetime) -> None: ...

    def consume(self, token_sha256: bytes, now: datetime) -> UUID | None:
        """The user of an unused, unexpired token, marking it used."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def burn(self, password: str) -> None:
        """Spend the time of one verification, for an unknown email."""
        ...


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in_s: int


class AccessTokenIssuer(Protocol):
    def issue(self, user: User, session_id: UUID) -> AccessToken: ...


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
