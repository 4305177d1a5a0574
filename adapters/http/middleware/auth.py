"""Authentication for the routes: `authenticate` is every resource route's
dependency, `require_permission` and `require_platform_admin` its guards.

API credentials (adapters/http/middleware/credentials.py) are normally verified once by
the key middleware, which leaves the principal in the scope; a warm check is a
cache read, one SHA-256 and a constant-time compare, never a slow hash and
never a query. A Bearer token with exactly two dots is a JWT: a user's
session (adapters/http/middleware/bearer.py), not an API credential; the key middleware
verifies it too, so that Idempotency-Key applies to signed-in users.

The guards note what they required while a request runs under
`recording_requirements` (the idempotency middleware does so), and
`check_replay` makes the same checks again before a stored answer is
replayed: a replay is authorised by the handler's own checks, as they ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from adapters.bootstrap.identity import Identity
from adapters.http.injected import Service
from adapters.http.middleware.api_keys import principal_of
from adapters.http.middleware.bearer import jwt_principal
from adapters.http.middleware.credentials import (
    Malformed,
    bearer_token,
    is_jwt,
    parse_credentials,
    verify_grant,
)
from adapters.http.middleware.sandbox_mode import with_sandbox_header
from adapters.postgres.idempotency import RequiredAuthority
from adapters.postgres.identity.accounts import PostgresAccounts
from application.identity.principal import Principal

MISSING_CREDENTIALS = (
    "Send X-API-Key and X-API-Secret, a combined <api_key>:<api_secret> token in"
    " X-API-Key or Authorization: Bearer, or an OAuth access token as Bearer"
)


def authenticate(
    request: Request[Any, Any, Any], accounts: Service[PostgresAccounts],
    identity: Service[Identity],
) -> Principal:
    """Who the request acts for, in the sandbox if its key is a test key or it
    says `X-Sandbox: true`. The key middleware has usually verified it."""
    principal = principal_of(request.scope)
    if principal is None:
        token = bearer_token(request.headers.get("authorization"))
        if token is not None and is_jwt(token) and not request.headers.get("x-api-key"):
            principal = jwt_principal(identity, token)  # 401 if not valid
        else:
            principal = _api_key_principal(request, accounts)
    return with_sandbox_header(request, principal)


def _api_key_principal(
    request: Request[Any, Any, Any], accounts: PostgresAccounts
) -> Principal:
    """Verifies an API credential when the key middleware has not (it did
    not run, or the credential is wrong or malformed)."""
    headers = request.headers
    credentials = parse_credentials(
        headers.get("x-api-key"), headers.get("x-api-secret"), headers.get("authorization")
    )
    if credentials is None:
        raise NotAuthorizedException(MISSING_CREDENTIALS)
    if isinstance(credentials, Malformed):
        raise NotAuthorizedException(credentials.reason)
    grant = verify_grant(accounts, credentials)
    if grant is None:
        raise NotAuthorizedException("Invalid API credentials")
    return grant.principal


@dataclass(slots=True)
class _Requirements:
    permissions: set[str] = field(default_factory=set)
    platform_admin: bool = False


# Set per request, around the handler; the handler's worker thread runs in a
# copy of the request's context, which shares this same object.
_REQUIREMENTS: ContextVar[_Requirements | None] = ContextVar("required_authority", default=None)


@contextmanager
def recording_requirements() -> Iterator[Callable[[], RequiredAuthority]]:
    """Notes what the guards below require while the block runs; the function
    it yields tells what they required so far."""
    noted = _Requirements()
    token = _REQUIREMENTS.set(noted)
    try:
        yield lambda: RequiredAuthority(frozenset(noted.permissions), noted.platform_admin)
    finally:
        _REQUIREMENTS.reset(token)


def requires_permissions(permissions: Iterable[str]) -> None:
    """Notes permissions that the request needed beyond its route's, checked
    elsewhere (a key may grant only those it holds): a replay checks them too."""
    noted = _REQUIREMENTS.get()
    if noted is not None:
        noted.permissions.update(permissions)


def check_replay(principal: Principal, required: RequiredAuthority) -> None:
    """The checks the first request passed, made again for the one replaying
    its answer; 403 FORBIDDEN as the handler would answer it."""
    for permission in sorted(required.permissions):
        require_permission(principal, permission)
    if required.platform_admin:
        require_platform_admin(principal)


def require_permission(principal: Principal, permission: str) -> Principal:
    """403 FORBIDDEN unless the principal's key (or user) holds `permission`."""
    requires_permissions((permission,))
    if permission not in principal.permissions:
        raise PermissionDeniedException(f"This credential lacks the {permission} permission")
    return principal


def require_platform_admin(principal: Principal) -> Principal:
    """403 FORBIDDEN unless a platform operator (a user, never an API key) asks."""
    noted = _REQUIREMENTS.get()
    if noted is not None:
        noted.platform_admin = True
    if not principal.platform_admin or principal.user_id is None:
        raise PermissionDeniedException("Only platform operators may do this")
    return principal
