"""Sign-in use cases: register, log in, refresh, log out.

A session is a family of refresh tokens. Each refresh retires the token it
was given and issues the next; a retired token presented again means it was
copied, so the whole family is revoked and both holders must sign in again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.errors import ValidationFailed
from application.identity.errors import AccountLocked, InvalidCredentials
from application.identity.ports import (
    AccessTokenIssuer,
    Clock,
    LoginFailures,
    LoginFailureStore,
    NewAccount,
    NewUser,
    PasswordHasher,
    Rotation,
    SessionStore,
    User,
    UserStore,
)
from application.identity.tokens import new_token, token_hash
from application.identity.validation import check_password, normal_email
from application.ledger.wallets import WalletService
from application.settings.profile import valid_timezone
from domain.errors import DomainError
from domain.messaging.phone import KNOWN_COUNTRIES
from domain.money import ensure_currency

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    refresh_ttl_s: int
    max_failed_logins: int
    lockout_s: int


@dataclass(frozen=True, slots=True)
class SessionTokens:
    access_token: str
    refresh_token: str
    expires_in_s: int
    refresh_expires_in_s: int
    session_id: uuid.UUID
    user: User


@dataclass(frozen=True, slots=True)
class Registration:
    email: str
    password: str
    name: str
    company_name: str
    currency: str
    default_country: str | None
    timezone: str


class SessionService:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        hasher: PasswordHasher,
        issuer: AccessTokenIssuer,
        wallets: WalletService,
        clock: Clock,
        policy: SessionPolicy,
        failures: LoginFailureStore,
    ) -> None:
        self._users = users
        self._failures = failures
        self._sessions = sessions
        self._hasher = hasher
        self._issuer = issuer
        self._wallets = wallets
        self._clock = clock
        self._policy = policy

    def register(self, registration: Registration) -> SessionTokens:
        """A new account with its owner, its live and sandbox wallets, signed in."""
        user = self.create_account_user(registration, platform_admin=False)
        return self.start_session(user)

    def create_account_user(
        self, registration: Registration, *, platform_admin: bool, oidc_subject: str | None = None
    ) -> User:
        email = normal_email(registration.email)
        if oidc_subject is None:
            check_password(registration.password)
        _check_account_fields(registration)
        password_hash = self._hasher.hash(registration.password) if registration.password else None
        account = NewAccount(
            name=registration.company_name or registration.name or email,
            currency=registration.currency,
            default_country=registration.default_country,
            timezone=registration.timezone,
        )
        owner = NewUser(
            id=uuid.uuid4(), email=email, name=registration.name, role="owner",
            platform_admin=platform_admin, password_hash=password_hash,
            oidc_subject=oidc_subject,
        )
        user = self._users.create_account_with_owner(account, owner)
        # The wallets live in the event store, outside the account's
        # transaction; opening them is idempotent, so a retry completes it.
        self._wallets.open_wallets(user.account_id, registration.currency)
        return user

    def login(self, email: str, password: str, client: str) -> SessionTokens:
        """Sign in from the client address `client`. Failures are counted per
        (email, client), for unknown emails too, and every answer costs one
        password hash: an unknown email, a wrong password and a locked pair
        cannot be told apart by their timing, nor by their answer."""
        email = email.strip().lower()
        user = self._users.by_email(email)
        now = self._clock.now()
        failures = self.refuse_if_locked(email, client, now, password)
        if user is None or user.password_hash is None:
            self._hasher.burn(password)
            self.count_failure(email, client, now)
            raise InvalidCredentials("Invalid email or password")
        if not self._hasher.verify(user.password_hash, password):
            self.count_failure(email, client, now)
            raise InvalidCredentials("Invalid email or password")
        if failures.count:
            self._failures.clear(email, client)
        return self.start_session(user)

    def refuse_if_locked(
        self, email: str, client: str, now: datetime, password: str = ""
    ) -> LoginFailures:
        """AccountLocked while the pair is locked, after a hash's worth of
        work: how long an answer takes must not tell that it is locked."""
        failures = self._failures.failures(email, client, now)
        if failures.locked_until is not None:
            self._hasher.burn(password)
            raise _locked(failures.locked_until, now)
        return failures

    def count_failure(self, email: str, client: str, now: datetime) -> None:
        """Count a wrong password; the failure that locks the pair says so."""
        after = self._failures.record_failure(
            email, client, now=now, max_failures=self._policy.max_failed_logins,
            lockout_s=self._policy.lockout_s,
        )
        if after.locked_until is not None:
            log.warning("sign-in locked for an email from %s after %s failed logins",
                        client, self._policy.max_failed_logins)
            raise _locked(after.locked_until, now)

    def start_session(self, user: User) -> SessionTokens:
        session_id = uuid.uuid4()
        refresh_token = new_token()
        expires_at = self._clock.now() + timedelta(seconds=self._policy.refresh_ttl_s)
        self._sessions.open_session(session_id, user.id, token_hash(refresh_token), expires_at)
        return self._tokens(user, session_id, refresh_token)

    def refresh(self, refresh_token: str) -> SessionTokens:
        successor = new_token()
        now = self._clock.now()
        result = self._sessions.rotate(
            token_hash(refresh_token), token_hash(successor),
            now + timedelta(seconds=self._policy.refresh_ttl_s), now,
        )
        if result.outcome is Rotation.REUSED:
            assert result.session_id is not None
            log.warning("refresh token reused; revoking session %s", result.session_id)
            self._sessions.revoke_session(result.session_id, "refresh token reused")
            raise InvalidCredentials("This refresh token was already used; sign in again")
        if result.outcome is Rotation.INVALID:
            raise InvalidCredentials("Invalid or expired refresh token")
        assert result.session_id is not None and result.user_id is not None
        user = self._users.by_id(result.user_id)
        if user is None:
            raise InvalidCredentials("Invalid or expired refresh token")
        return self._tokens(user, result.session_id, successor)

    def logout(self, refresh_token: str | None, session_id: uuid.UUID | None) -> None:
        """Revoke the session of the refresh token, or else of the access token."""
        if refresh_token:
            found = self._sessions.session_of(token_hash(refresh_token))
            session_id = found or session_id
        if session_id is not None:
            self._sessions.revoke_session(session_id, "logout")

    def user(self, user_id: uuid.UUID) -> User:
        user = self._users.by_id(user_id)
        if user is None:
            raise InvalidCredentials("The user no longer exists")
        return user

    def _tokens(self, user: User, session_id: uuid.UUID, refresh_token: str) -> SessionTokens:
        access = self._issuer.issue(user, session_id)
        return SessionTokens(
            access_token=access.token,
            refresh_token=refresh_token,
            expires_in_s=access.expires_in_s,
            refresh_expires_in_s=self._policy.refresh_ttl_s,
            session_id=session_id,
            user=user,
        )


def _locked(locked_until: datetime, now: datetime) -> AccountLocked:
    retry_after_s = max(1, int((locked_until - now).total_seconds() + 0.999))
    return AccountLocked(
        "Too many failed logins; the account is locked for a while",
        locked_until=locked_until.isoformat(),
        retry_after_s=retry_after_s,
    )


def _check_account_fields(registration: Registration) -> None:
    """Refuse before anything is written: an account must be able to open its wallets."""
    try:
        ensure_currency(registration.currency)
    except DomainError as error:
        raise ValidationFailed(error.message, **error.details) from error
    country = registration.default_country
    if country is not None and country not in KNOWN_COUNTRIES:
        raise ValidationFailed("country is an ISO 3166 alpha-2 code of a supported country",
                               country=country)
    if not valid_timezone(registration.timezone):
        raise ValidationFailed("timezone is an IANA zone name, e.g. Europe/London",
                               timezone=registration.timezone)
