"""Sign-in through an OpenID Connect provider (Google, or any other).

The state and nonce of each sign-in are kept server-side and used once: the
state ties the provider's redirect to the URL we handed out, the nonce ties
the ID token to it. A first sign-in creates an account with its owner, as
registering does; a known email is linked only if the provider verified it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from application.identity.errors import InvalidCredentials
from application.identity.ports import Clock, UserStore
from application.identity.sessions import Registration, SessionService, SessionTokens

LOGIN_TTL_S = 600


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    subject: str
    email: str
    email_verified: bool
    name: str


class OidcProviderError(Exception):
    """The provider refused the code, or its answer did not verify."""


class OidcProvider(Protocol):
    def authorization_url(self, state: str, nonce: str) -> str: ...

    def identity(self, code: str, nonce: str) -> OidcIdentity:
        """Exchange the code for an ID token and verify it (signature against
        the provider's keys, issuer, audience, expiry, nonce); raises
        OidcProviderError."""
        ...


class OidcLoginStore(Protocol):
    def add(self, state: str, nonce: str, expires_at: datetime) -> None: ...

    def consume(self, state: str, now: datetime) -> str | None:
        """The nonce of an unused, unexpired state, marking it used."""
        ...


@dataclass(frozen=True, slots=True)
class AuthorizationStart:
    url: str
    state: str


class OidcSignIn:
    def __init__(
        self,
        provider: OidcProvider,
        logins: OidcLoginStore,
        users: UserStore,
        sessions: SessionService,
        clock: Clock,
        default_currency: str,
    ) -> None:
        self._provider = provider
        self._logins = logins
        self._users = users
        self._sessions = sessions
        self._clock = clock
        self._default_currency = default_currency

    def start(self) -> AuthorizationStart:
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        self._logins.add(state, nonce, self._clock.now() + timedelta(seconds=LOGIN_TTL_S))
        return AuthorizationStart(self._provider.authorization_url(state, nonce), state)

    def finish(self, code: str, state: str) -> SessionTokens:
        nonce = self._logins.consume(state, self._clock.now())
        if nonce is None:
            raise InvalidCredentials("Unknown, used or expired sign-in state")
        try:
            identity = self._provider.identity(code, nonce)
        except OidcProviderError as error:
            raise InvalidCredentials(f"The identity provider's answer failed: {error}") from error
        user = self._users.by_oidc_subject(identity.subject)
        if user is None:
            if not identity.email_verified:
                raise InvalidCredentials("The provider has not verified this email")
            user = self._users.by_email(identity.email.lower())
            if user is not None:
                self._users.link_oidc_subject(user.id, identity.subject)
            else:
                user = self._sessions.create_account_user(
                    Registration(
                        email=identity.email, password="", name=identity.name,
                        company_name=identity.name or identity.email,
                        currency=self._default_currency, default_country=None,
                        timezone="UTC",
                    ),
                    platform_admin=False, oidc_subject=identity.subject,
                )
        return self._sessions.start_session(user)
