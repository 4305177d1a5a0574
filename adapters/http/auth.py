"""API-key authentication: X-API-Key plus X-API-Secret on every request.

The key lookup is cached in the accounts adapter, so a warm request verifies
with one SHA-256 and a constant-time compare, and never waits on the database.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from adapters.bootstrap import Container
from adapters.http.bearer import bearer_token, jwt_principal
from adapters.http.sandbox_mode import with_sandbox_header
from adapters.postgres.accounts import Principal

MAX_CREDENTIAL_LENGTH = 200


def authenticate(request: Request[Any, Any, Any]) -> Principal:
    session_token = bearer_token(request)
    if session_token is not None:  # a signed-in user's JWT
        return with_sandbox_header(
            request, jwt_principal(request.app.state.container, session_token)
        )
    api_key = request.headers.get("x-api-key")
    api_secret = request.headers.get("x-api-secret")
    if not api_key or not api_secret:
        raise NotAuthorizedException("Send X-API-Key and X-API-Secret headers")
    if len(api_key) > MAX_CREDENTIAL_LENGTH or len(api_secret) > MAX_CREDENTIAL_LENGTH:
        raise NotAuthorizedException("Invalid API credentials")
    container: Container = request.app.state.container
    principal = container.accounts.authenticate(api_key, api_secret)
    if principal is None:
        raise NotAuthorizedException("Invalid API credentials")
    return with_sandbox_header(request, principal)


def require_permission(principal: Principal, permission: str) -> Principal:
    """403 FORBIDDEN unless the principal's key (or user) holds `permission`."""
    if permission not in principal.permissions:
        raise PermissionDeniedException(f"This credential lacks the {permission} permission")
    return principal


def require_platform_admin(principal: Principal) -> Principal:
    """403 FORBIDDEN unless a platform operator (a user, never an API key) asks."""
    if not principal.platform_admin or principal.user_id is None:
        raise PermissionDeniedException("Only platform operators may do this")
    return principal
