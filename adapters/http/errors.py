"""All error responses are built here: one place maps failures to the
public error table ({"error": {code, message, details}, "meta": {request_id}})."""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg
from eventsourcing import persistence
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Scope, Send

from adapters.http.json_bodies import refused_body_error
from adapters.http.middleware.request_id import REQUEST_ID_HEADER, request_id_of
from application.errors import Unavailable
from application.ports import AccountNotFound
from domain.errors import DomainError

log = logging.getLogger(__name__)

# What a 503 for an unreachable database asks callers to wait: the pools try
# to reconnect about once a second (adapters/postgres/pools.py).
DATABASE_RETRY_AFTER_S = 1

STATUS_BY_CODE: dict[str, int] = {
    "VALIDATION_ERROR": 400,
    "INVALID_SIGNATURE": 400,
    "INVALID_PHONE_NUMBER": 400,
    "INVALID_SENDER_ID": 400,
    "MESSAGE_TOO_LONG": 400,
    "MISSING_VARIABLE": 400,
    "UNSUPPORTED_DESTINATION": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "ACCOUNT_FROZEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "INSUFFICIENT_BALANCE": 422,
    "OPT_OUT": 422,
    "RATE_LIMITED": 429,
    # The seed lists ACCOUNT_LOCKED under both 401 and 429; 429 is its row for
    # "temporarily locked (5 failed logins)", and details carry retry_after_s.
    "ACCOUNT_LOCKED": 429,
    # Not in the seed's table: the HTTP layer's own answers, which the seed
    # leaves unnamed. 405 comes with an Allow header.
    "METHOD_NOT_ALLOWED": 405,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    # An Idempotency-Key reused for a different request: 422, as
    # draft-ietf-httpapi-idempotency-key-header asks (409 is for a repeat
    # while the first request is still running).
    "IDEMPOTENCY_KEY_REUSED": 422,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


# Litestar's own exceptions carry only a status; these name it.
CODE_BY_STATUS: dict[int, str] = {
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def error_response(
    request: Request[Any, Any, Any], code: str, message: str, details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    # The request-id header is set here as well as by its middleware, because
    # Litestar answers unknown paths and methods before any middleware runs.
    request_id = request_id_of(request.scope)
    return Response(
        {
            "error": {"code": code, "message": message, "details": details or {}},
            "meta": {"request_id": request_id},
        },
        status_code=STATUS_BY_CODE.get(code, 400),
        headers={**(headers or {}), REQUEST_ID_HEADER: request_id},
    )


async def send_error(
    scope: Scope, send: Send, code: str, message: str, details: dict[str, Any] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The same envelope for middleware that answers before any route runs
    (rate limits, idempotency conflicts), straight on the ASGI channel."""
    request_id = request_id_of(scope)
    body = json.dumps({
        "error": {"code": code, "message": message, "details": details or {}},
        "meta": {"request_id": request_id},
    }).encode()
    start: Any = {
        "type": "http.response.start",
        "status": STATUS_BY_CODE[code],
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (REQUEST_ID_HEADER.encode(), request_id.encode()),
            *(headers or []),
        ],
    }
    body_event: Any = {"type": "http.response.body", "body": body}
    await send(start)
    await send(body_event)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, Unavailable) else None
    return error_response(request, exc.code, exc.message, exc.details, headers=headers)


def database_unavailable(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    """The database could not be reached, or dropped the connection, or gave
    up on a statement (a lock or statement timeout): the caller may retry.
    Writes that may have committed all the same are OutcomeUnknown instead
    (adapters/eventstore/recorder.py)."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                str(exc).strip() or type(exc).__name__)
    return error_response(
        request, "SERVICE_UNAVAILABLE",
        "The database is unavailable; retry after the Retry-After seconds",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    # A body that failed its type is told now, after authentication: Litestar
    # saw only the decoder's placeholder (see json_bodies.py).
    exc = refused_body_error(request.scope) or exc
    extra = exc.extra if isinstance(exc.extra, list) else []
    return error_response(request, "VALIDATION_ERROR", str(exc.detail), {"errors": extra})


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, NotAuthorizedException):
        code = "UNAUTHORIZED"
    elif isinstance(exc, PermissionDeniedException):
        code = "FORBIDDEN"
    elif isinstance(exc, NotFoundException):
        code = "NOT_FOUND"
    elif exc.status_code >= 500:
        code = "SERVICE_UNAVAILABLE" if exc.status_code == 503 else "INTERNAL_ERROR"
    else:
        code = CODE_BY_STATUS.get(exc.status_code, "VALIDATION_ERROR")
    # Headers the exception carries, such as Allow on a 405, are kept.
    return error_response(request, code, str(exc.detail), headers=dict(exc.headers or {}))


def account_missing(
    request: Request[Any, Any, Any], exc: AccountNotFound
) -> Response[dict[str, Any]]:
    return error_response(request, "UNAUTHORIZED", "The key's account no longer exists")


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    response = error_response(request, "INTERNAL_ERROR", "Unexpected server error")
    response.status_code = HTTP_500_INTERNAL_SERVER_ERROR
    return response


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    DomainError: domain_error,
    # psycopg's own (the configuration pool; PoolTimeout is one) and the
    # event store library's wrappers of them.
    psycopg.OperationalError: database_unavailable,
    psycopg.InterfaceError: database_unavailable,
    persistence.OperationalError: database_unavailable,
    persistence.InterfaceError: database_unavailable,
    ValidationException: validation_error,
    HTTPException: http_error,
    AccountNotFound: account_missing,
    Exception: unexpected_error,
}
