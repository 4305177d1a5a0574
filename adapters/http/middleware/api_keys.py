"""Authenticates API credentials once per request and applies the key's rate
limit, before the route runs.

The principal is left in the scope's state for `authenticate` (and the
idempotency middleware) to pick up, so no request verifies twice. Every
response to a request with a valid API credential carries the X-RateLimit-*
headers; over the limit the answer is 429 RATE_LIMITED with Retry-After,
given here so that the route (and the idempotency store) never sees it.
A signed-in user's JWT is verified here too and its principal kept; requests
without a valid credential pass through untouched, and the route's
`authenticate` dependency answers them.

API credentials that fail (wrong or malformed) are counted per client
address (adapters/http/middleware/address_limits.py): over the limit, the address's
credentials are refused with 429 RATE_LIMITED and Retry-After before they are
checked, until the address has a token again.
"""

from __future__ import annotations

import asyncio

from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.bootstrap.identity import Identity
from adapters.http.errors import send_error
from adapters.http.middleware.address_limits import (
    FAILED_KEYS_MESSAGE,
    AddressLimits,
    retry_after_headers,
)
from adapters.http.middleware.bearer import jwt_principal
from adapters.http.middleware.credentials import (
    Malformed,
    bearer_token,
    cached_grant,
    credentials_from_raw,
    is_jwt,
    verify_grant,
)
from adapters.http.middleware.rate_limit import Decision, RateLimiter
from adapters.postgres.identity.accounts import PostgresAccounts
from adapters.postgres.identity.api_keys import KeyGrant
from application.identity.principal import Principal

PRINCIPAL_STATE_KEY = "smsledger.principal"


def principal_of(scope: Scope) -> Principal | None:
    """The principal this request's API credential was verified as, if any."""
    principal = scope.get("state", {}).get(PRINCIPAL_STATE_KEY)
    return principal if isinstance(principal, Principal) else None


def key_middleware(
    app: ASGIApp, *, accounts: PostgresAccounts, identity: Identity, limiter: RateLimiter,
    limits: AddressLimits,
) -> ASGIApp:
    """Wrap `app`; credentials are checked against `accounts`, sessions
    against `identity`, keys' rates by `limiter`, failures by `limits`."""
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        credentials = credentials_from_raw(scope["headers"])
        if credentials is None:
            # Perhaps a signed-in user: their principal is kept too, so that
            # Idempotency-Key applies to them (no rate limit: it is per key).
            session = await _session_principal(scope, identity)
            if session is not None:
                scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = session
            await app(scope, receive, send)
            return
        client = limits.client(scope)
        refused_s = limits.failed_key_refusal(client)
        if refused_s is not None:
            await _send_too_many_failures(scope, send, refused_s)
            return
        grant: KeyGrant | bool | None = None
        if not isinstance(credentials, Malformed):
            grant = cached_grant(accounts, credentials)
            if grant is False:
                grant = await asyncio.to_thread(verify_grant, accounts, credentials)
        if grant is None or isinstance(grant, bool):
            decision = await limits.count_failed_key(client)
            if not decision.allowed:
                await _send_too_many_failures(scope, send, decision.retry_after_s)
                return
            await app(scope, receive, send)  # `authenticate` answers 401
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = grant.principal
        decision = await limiter.take(grant.key_id, grant.rate_limit_per_s)
        if not decision.allowed:
            await _send_rate_limited(scope, send, decision)
            return
        extra = decision.headers()

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await app(scope, receive, send_with_limits)

    return middleware


async def _session_principal(scope: Scope, identity: Identity) -> Principal | None:
    """The principal of a valid session JWT in `Authorization: Bearer`; None
    otherwise (`authenticate` then answers 401 with the reason)."""
    header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    token = bearer_token(header or None)
    if token is None or not is_jwt(token):
        return None
    try:
        return await asyncio.to_thread(jwt_principal, identity, token)
    except NotAuthorizedException:
        return None


async def _send_too_many_failures(scope: Scope, send: Send, retry_after_s: int) -> None:
    await send_error(
        scope, send, "RATE_LIMITED", FAILED_KEYS_MESSAGE, {"retry_after": retry_after_s},
        headers=retry_after_headers(retry_after_s),
    )


async def _send_rate_limited(scope: Scope, send: Send, decision: Decision) -> None:
    await send_error(
        scope, send, "RATE_LIMITED",
        f"Over {decision.limit} requests per second for this key;"
        " retry after the Retry-After seconds",
        {"limit": decision.limit, "retry_after": decision.retry_after_s},
        headers=list(decision.headers()),
    )
