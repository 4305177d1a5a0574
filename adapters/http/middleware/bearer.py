"""Bearer JWT authentication for signed-in users.

A token is verified with the public key held in memory (one RSA check per
token and process, then a dictionary lookup; no I/O); its session's state
(revoked or not, the user's role) comes from a per-process cache that asks
the database at most once per session every SESSION_CACHE_TTL_S. So logout,
a password change or a role change reaches every API process within that
bound, and an expired token is refused at once.

Permissions of a user: owners and admins hold every permission an API key
can hold. Members hold a read-mostly set: they may send messages and read
messages, billing, reports, contacts and templates, but not change contacts,
templates, webhooks or settings.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from adapters.bootstrap.identity import Identity
from adapters.http.middleware.credentials import bearer_token, is_jwt
from adapters.identity.jwt_tokens import AccessClaims
from adapters.postgres.identity.accounts import DEFAULT_PERMISSIONS
from adapters.postgres.identity.sessions import SessionState
from application.identity.principal import Principal

ALL_PERMISSIONS = frozenset(DEFAULT_PERMISSIONS)
MEMBER_PERMISSIONS = frozenset({
    "sms.send", "sms.read", "billing.read", "reports.read", "contacts.read",
    "templates.read",
})
PERMISSIONS_BY_ROLE = {
    "owner": ALL_PERMISSIONS,
    "admin": ALL_PERMISSIONS,
    "member": MEMBER_PERMISSIONS,
}


def session_token(request: Request[Any, Any, Any]) -> str | None:
    """The JWT of an `Authorization: Bearer` header, if it holds one."""
    token = bearer_token(request.headers.get("authorization"))
    return token if token is not None and is_jwt(token) else None


def access_claims(identity: Identity, token: str) -> AccessClaims:
    """The claims of a valid token whose session is still open; 401 otherwise."""
    return _verified(identity, token)[0]


def jwt_principal(identity: Identity, token: str) -> Principal:
    _, state = _verified(identity, token)
    return Principal(
        account_id=state.account_id,
        key_id=None,
        sandbox=False,
        permissions=PERMISSIONS_BY_ROLE.get(state.role, frozenset()),
        user_id=state.user_id,
        role=state.role,
        platform_admin=state.platform_admin,
    )


def _verified(identity: Identity, token: str) -> tuple[AccessClaims, SessionState]:
    claims = identity.tokens.verify(token)
    if claims is None:
        raise NotAuthorizedException("Invalid or expired access token")
    state = identity.session_states.state(claims.session_id)
    if state is None or not state.active or state.user_id != claims.user_id:
        raise NotAuthorizedException("This session has ended; sign in again")
    return claims, state
