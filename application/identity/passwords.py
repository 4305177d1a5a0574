"""Password use cases: forgotten, reset by mailed token, changed when signed in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from application.errors import ValidationFailed
from application.identity.errors import InvalidCredentials
from application.identity.ports import (
    Clock,
    LoginFailureStore,
    Mail,
    Mailer,
    PasswordHasher,
    ResetTokenStore,
    SessionStore,
    UserStore,
)
from application.identity.sessions import SessionService
from application.identity.tokens import new_token, token_hash
from application.identity.validation import check_password, normal_email

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResetPolicy:
    token_ttl_s: int
    # The link in the mail: this prefix followed by the token.
    link_prefix: str


class PasswordService:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        resets: ResetTokenStore,
        hasher: PasswordHasher,
        mailer: Mailer,
        clock: Clock,
        policy: ResetPolicy,
        session_service: SessionService,
        failures: LoginFailureStore,
    ) -> None:
        self._failures = failures
        self._users = users
        self._sessions = sessions
        self._resets = resets
        self._hasher = hasher
        self._mailer = mailer
        self._clock = clock
        self._policy = policy
        self._session_service = session_service

    def send_reset_mail(self, email: str) -> None:
        """Mail a reset link if the address has a user; silently nothing if not.

        Callers answer the same either way and run this after answering, so
        that neither the reply nor its timing tells whether the email exists.
        """
        try:
            address = normal_email(email)
        except ValidationFailed:
            return
        user = self._users.by_email(address)
        if user is None:
            log.info("password reset asked for an address without a user")
            return
        token = new_token()
        expires_at = self._clock.now() + timedelta(seconds=self._policy.token_ttl_s)
        self._resets.add(user.id, token_hash(token), expires_at)
        minutes = self._policy.token_ttl_s // 60
        self._mailer.send(Mail(
            to=user.email,
            subject="Reset your smsledger password",
            body=(
                "Someone asked to reset the password of this account.\n\n"
                f"To choose a new password, open this link within {minutes} minutes:\n"
                f"{self._policy.link_prefix}{token}\n\n"
                "If it was not you, ignore this mail: your password is unchanged.\n"
            ),
        ))

    def reset(self, token: str, new_password: str) -> None:
        """Set a new password with a mailed token; every session is ended and
        every lockout of the user lifted (whoever reads the mail is the user)."""
        check_password(new_password)
        user_id = self._resets.consume(token_hash(token), self._clock.now())
        if user_id is None:
            raise InvalidCredentials("Invalid or expired reset token")
        self._users.set_password(user_id, self._hasher.hash(new_password))
        self._sessions.revoke_user_sessions(user_id, "password reset")
        user = self._users.by_id(user_id)
        if user is not None:
            self._failures.clear_email(user.email)

    def change(
        self, user_id: UUID, session_id: UUID | None, current_password: str, new_password: str,
        client: str,
    ) -> None:
        """Change the password; every other session of the user is ended and
        every lockout of the user lifted, as a reset does."""
        check_password(new_password, "new_password")
        user = self._users.by_id(user_id)
        if user is None or user.password_hash is None:
            raise InvalidCredentials("This user has no password to change")
        now = self._clock.now()
        # Guessing through a stolen session is locked out as logins are.
        self._session_service.refuse_if_locked(user.email, client, now)
        if not self._hasher.verify(user.password_hash, current_password):
            self._session_service.count_failure(user.email, client, now)
            raise InvalidCredentials("current_password is wrong")
        self._users.set_password(user_id, self._hasher.hash(new_password))
        self._sessions.revoke_user_sessions(user_id, "password changed", keep=session_id)
        self._failures.clear_email(user.email)
