"""No PostgreSQL text can hold a NUL character, and no query parameter or
path segment of this API has a use for one: a NUL anywhere in the query
string or the path is VALIDATION_ERROR, refused before routing. One check
for every route, instead of one per parameter that reaches a query (which a
new filter would forget, and PostgreSQL would answer with a 500)."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.http.errors import send_error


def has_nul(scope: Scope) -> bool:
    # %00 has no letters, so no case to fold; "\x00" as sent raw.
    query: bytes = scope.get("query_string", b"")
    return b"%00" in query or b"\x00" in query or "\x00" in scope["path"]


def nul_check_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and has_nul(scope):
            await send_error(
                scope, send, "VALIDATION_ERROR",
                "The query string and the path must not contain NUL (%00)",
            )
            return
        await app(scope, receive, send)

    return middleware
