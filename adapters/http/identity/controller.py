"""/v1/auth/*: register, log in, refresh, who am I, log out, and passwords.

Login, register and forgot-password take a token from the client address's
sign-in bucket before any work (adapters/http/middleware/address_limits.py). Each
password hash runs on one of the process's few hashing slots
(adapters/identity/passwords.py); a request that would find neither a free
slot nor a place to wait for one is refused before it costs a query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import JSONBody

from adapters.bootstrap.identity import Identity
from adapters.http.bodies import Envelope, Meta
from adapters.http.identity.schemas import (
    AccountSummaryOut,
    ChangePasswordRequest,
    DoneOut,
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    MeOut,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    TokensOut,
    UserOut,
)
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.address_limits import AddressLimits, error_with_retry_after
from adapters.http.middleware.bearer import access_claims, session_token
from adapters.identity.passwords import busy
from application.identity.ports import User
from application.identity.principal import Principal
from application.identity.sessions import Registration, SessionTokens
from domain.errors import DomainError

log = logging.getLogger(__name__)


async def _sign_in_attempt(
    request: Request[Any, Any, Any], identity: Identity, limits: AddressLimits, *,
    hashes: bool = True,
) -> str:
    """The client's address, once it has taken a sign-in attempt (429
    RATE_LIMITED with Retry-After when it has none left). A request that
    would hash a password while every slot and waiting place is taken is
    refused first (503), before it costs a query."""
    if hashes and identity.hash_slots.saturated():
        raise busy()
    client = limits.client(request.scope)
    await limits.sign_in(client)
    return client


def user_out(user: User) -> UserOut:
    return UserOut(
        id=str(user.id), email=user.email, name=user.name, role=user.role,
        platform_admin=user.platform_admin, account_id=user.account_id,
        created_at=user.created_at,
    )


def tokens_response(meta: Meta, tokens: SessionTokens) -> Envelope[TokensOut]:
    return Envelope(
        data=TokensOut(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            token_type="Bearer",  # noqa: S106 - the token type, not a secret
            expires_in=tokens.expires_in_s,
            refresh_expires_in=tokens.refresh_expires_in_s,
            user=user_out(tokens.user),
        ),
        meta=meta,
    )


def _done(meta: Meta, message: str) -> Envelope[DoneOut]:
    return Envelope(data=DoneOut(ok=True, message=message), meta=meta)


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["Auth"]
    # Rate limits, lockouts and busy hashing slots say when to come back.
    exception_handlers = {DomainError: error_with_retry_after}

    @post("/register", operation_id="register",
          summary="Create an account and its owner", status_code=201)
    async def register(
        self, request: Request[Any, Any, Any], meta: RequestMeta, data: JSONBody[RegisterRequest],
        identity: Service[Identity], address_limits: Service[AddressLimits],
    ) -> Envelope[TokensOut]:
        await _sign_in_attempt(request, identity, address_limits)
        tokens = await sync_to_thread(
            identity.sessions.register,
            Registration(
                email=data.email, password=data.password, name=data.name,
                company_name=data.company_name or data.name, currency=data.currency.upper(),
                default_country=data.country.upper() if data.country else None,
                timezone=data.timezone,
            ),
        )
        return tokens_response(meta, tokens)

    @post("/login", operation_id="login",
          summary="Sign in with email and password", status_code=200)
    async def login(
        self, request: Request[Any, Any, Any], meta: RequestMeta, data: JSONBody[LoginRequest],
        identity: Service[Identity], address_limits: Service[AddressLimits],
    ) -> Envelope[TokensOut]:
        client = await _sign_in_attempt(request, identity, address_limits)
        tokens = await sync_to_thread(
            identity.sessions.login, data.email, data.password, client
        )
        return tokens_response(meta, tokens)

    @post("/refresh", operation_id="refreshSession",
          summary="Rotate a refresh token for new tokens", status_code=200, sync_to_thread=True)
    def refresh(
        self, meta: RequestMeta, data: JSONBody[RefreshRequest],
        identity: Service[Identity],
    ) -> Envelope[TokensOut]:
        tokens = identity.sessions.refresh(data.refresh_token)
        return tokens_response(meta, tokens)

    @get(
        "/me", operation_id="getMe", summary="The signed-in user and account", sync_to_thread=True,
    )
    def me(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
    ) -> Envelope[MeOut]:
        if principal.user_id is None:
            raise PermissionDeniedException("An API key is not a user; sign in to see /me")
        user = identity.sessions.user(principal.user_id)
        account = identity.profiles.profile(user.account_id).settings
        return Envelope(
            data=MeOut(
                id=str(user.id), email=user.email, name=user.name, role=user.role,
                platform_admin=user.platform_admin, account_id=user.account_id,
                created_at=user.created_at, permissions=sorted(principal.permissions),
                account=AccountSummaryOut(
                    id=account.account_id, name=account.name, currency=account.currency,
                    default_country=account.default_country, timezone=account.timezone,
                ),
            ),
            meta=meta,
        )

    @post("/logout", operation_id="logout",
          summary="Sign out (revoke the session)", status_code=200, sync_to_thread=True)
    def logout(
        self, request: Request[Any, Any, Any], meta: RequestMeta, data: JSONBody[LogoutRequest],
        identity: Service[Identity],
    ) -> Envelope[DoneOut]:
        token = session_token(request)
        session_id = access_claims(identity, token).session_id if token else None
        if session_id is None and not data.refresh_token:
            raise NotAuthorizedException("Send the refresh token, or the access token")
        identity.sessions.logout(data.refresh_token, session_id)
        return _done(meta, "Signed out")

    @post("/forgot-password", operation_id="forgotPassword",
          summary="Send a password-reset mail", status_code=200)
    async def forgot_password(
        self, request: Request[Any, Any, Any], meta: RequestMeta,
        data: JSONBody[ForgotPasswordRequest],
        identity: Service[Identity], address_limits: Service[AddressLimits],
    ) -> Response[Envelope[DoneOut]]:
        # Answered before any lookup; the lookup and the mail run afterwards,
        # so neither the answer nor its timing tells whether the email exists.
        await _sign_in_attempt(request, identity, address_limits, hashes=False)
        passwords = identity.passwords
        return Response(
            _done(meta, "If this address has an account, a reset link is on its way"),
            background=BackgroundTask(_in_thread, passwords.send_reset_mail, data.email),
        )

    @post("/reset-password", operation_id="resetPassword",
          summary="Set a new password with a reset token", status_code=200,
          sync_to_thread=True)
    def reset_password(
        self, meta: RequestMeta, data: JSONBody[ResetPasswordRequest],
        identity: Service[Identity],
    ) -> Envelope[DoneOut]:
        identity.passwords.reset(data.token, data.password)
        return _done(meta, "Password changed; sign in with the new one")

    @post(
        "/change-password", operation_id="changePassword",
        summary="Change the signed-in user's password", status_code=200,
        sync_to_thread=True,
    )
    def change_password(
        self, request: Request[Any, Any, Any], meta: RequestMeta,
        data: JSONBody[ChangePasswordRequest],
        principal: NamedDependency[Principal], identity: Service[Identity],
        address_limits: Service[AddressLimits],
    ) -> Envelope[DoneOut]:
        if principal.user_id is None:
            raise PermissionDeniedException("An API key has no password; sign in as a user")
        token = session_token(request)
        session_id = access_claims(identity, token).session_id if token else None
        identity.passwords.change(
            principal.user_id, session_id, data.current_password, data.new_password,
            address_limits.client(request.scope),
        )
        return _done(meta, "Password changed; other sessions are signed out")


async def _in_thread(function: Callable[[str], None], argument: str) -> None:
    try:
        await anyio.to_thread.run_sync(function, argument)
    except Exception:
        # The caller has its answer already; the failure is for the operator.
        log.exception("sending a password-reset mail failed")
