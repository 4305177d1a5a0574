"""Idempotency-Key on POSTs, after draft-ietf-httpapi-idempotency-key-header.

The same key with the same request replays the first response, status and
body included. The key reused for a different request (another body or
another route) is 422 IDEMPOTENCY_KEY_REUSED; a repeat while the first is
still running is 409 CONFLICT. Keys are per account and mode, kept at
least 24 hours. A response the server failed to produce (5xx), or one about
the credential (401, 403, 429), is not kept, so the client can retry with the
same key. Behind this, sends derive their message ids from the key, so even a
lost response cannot charge twice.

The answer is kept (or the key released) before its first byte is sent: a
client that retries the moment it has read the answer finds it kept, never
"still in progress". A replay is authorised as its first request was: the
checks the handler made then (adapters/http/middleware/auth.py notes them) are kept with
the answer and made again for the caller replaying it.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.errors import send_error
from adapters.http.middleware.api_keys import principal_of
from adapters.http.middleware.auth import check_replay, recording_requirements
from adapters.http.middleware.request_id import REQUEST_ID_HEADER, request_id_of
from adapters.http.middleware.sandbox_mode import (
    SANDBOX_HEADER,
    sandbox_requested,
    scoped_idempotency_key,
)
from adapters.postgres.idempotency import (
    Claim,
    PostgresIdempotencyKeys,
    RequiredAuthority,
    StoredResponse,
)
from application.identity.principal import Principal

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
PRUNE_EVERY_REQUESTS = 1000
CREDENTIAL_STATUSES = frozenset({401, 403, 429})


def idempotency_middleware(
    app: ASGIApp, *, store: PostgresIdempotencyKeys, max_body_bytes: int
) -> ASGIApp:
    """Wrap `app`; keys are kept in `store`, bodies read up to `max_body_bytes`."""
    counter = itertools.count(1)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        key = headers.get("idempotency-key")
        principal = None
        if key:
            # Verified by the key middleware already, in any accepted form.
            principal = principal_of(scope)
        if not key or principal is None:  # no key, or the handler answers 401
            await app(scope, receive, send)
            return
        if len(key) > MAX_KEY_LENGTH:
            await send_error(scope, send, "VALIDATION_ERROR",
                             f"Idempotency-Key is at most {MAX_KEY_LENGTH} characters")
            return
        sandbox = principal.sandbox or sandbox_requested(headers.get(SANDBOX_HEADER))
        key = scoped_idempotency_key(key, sandbox=sandbox) or key
        body = await _read_body(receive, max_body_bytes)
        if body is None:
            raise ClientException("Request body too large", status_code=413)
        if next(counter) % PRUNE_EVERY_REQUESTS == 0:
            await asyncio.to_thread(store.prune)
        digest = hashlib.sha256(
            f"{scope['method']} {scope['path']}\n".encode() + (body or b"")
        ).digest()
        claim, stored = await asyncio.to_thread(store.claim, principal.account_id, key, digest)
        if claim == Claim.DONE and stored is not None:
            await _replay(scope, send, principal, stored)
        elif claim == Claim.MISMATCH:
            await send_error(scope, send, "IDEMPOTENCY_KEY_REUSED",
                             "This Idempotency-Key was used with a different request;"
                             " use a new key for a new request")
        elif claim == Claim.IN_FLIGHT:
            await send_error(scope, send, "CONFLICT",
                             "A request with this Idempotency-Key is still in progress;"
                             " retry once it has been answered")
        else:
            await _run_and_keep(app, scope, send, body, store, principal.account_id, key)

    return middleware


async def _run_and_keep(
    app: ASGIApp, scope: Scope, send: Send, body: bytes | None,
    store: PostgresIdempotencyKeys, account_id: str, key: str,
) -> None:
    """Runs the request, holding its answer back until it is kept: a retry
    sent the moment the answer arrives must find it kept, not in progress.
    POST answers are small (their size follows the request's, which is
    bounded), so holding one whole costs no more than keeping it."""
    held: list[Message] = []
    settled = False

    async def hold(message: Message) -> None:
        nonlocal settled
        if settled:
            await send(message)
            return
        held.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            settled = True
            await _settle(store, account_id, key, held, required())
            for kept in held:
                await send(kept)

    with recording_requirements() as required:
        try:
            await app(scope, _replaying(body), hold)
        finally:
            if not settled:  # no answer: the error handler's 500 (or none) is not kept
                try:
                    await asyncio.to_thread(store.release, account_id, key)
                except Exception:
                    # The database is gone (the likely reason there was no
                    # answer): the claim is taken over once abandoned.
                    log.warning("could not release Idempotency-Key %r", key, exc_info=True)


async def _settle(
    store: PostgresIdempotencyKeys, account_id: str, key: str, held: list[Message],
    required: RequiredAuthority,
) -> None:
    """Keeps the held answer under the key, or releases the key."""
    status, content_type = 500, "application/json"
    for message in held:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    content_type = value.decode("latin-1")
    body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
    try:
        # Not kept either: answers about the credential rather than the
        # request, which the client fixes and then retries with the same key.
        if status >= 500 or status in CREDENTIAL_STATUSES:
            await asyncio.to_thread(store.release, account_id, key)
        else:
            kept = StoredResponse(status, content_type, body, required)
            await asyncio.to_thread(store.complete, account_id, key, kept)
    except Exception:
        # The request has been carried out: its answer still goes out. The key
        # stays in progress until it counts as abandoned (ABANDONED_AFTER_S).
        log.exception("could not keep the answer under an Idempotency-Key")


async def _read_body(receive: Receive, limit_bytes: int) -> bytes | None:
    """The whole body, or None once it outgrows what any request may send."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Any = await receive()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit_bytes:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes | None) -> Callable[[], Any]:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body or b"", "more_body": False}

    return receive


async def _replay(
    scope: Scope, send: Send, principal: Principal, stored: StoredResponse
) -> None:
    try:
        check_replay(principal, stored.required)
    except PermissionDeniedException as refused:
        await send_error(scope, send, "FORBIDDEN", str(refused.detail))
        return
    start: Any = {
        "type": "http.response.start",
        "status": stored.status_code,
        "headers": [
            (b"content-type", stored.content_type.encode("latin-1")),
            (b"content-length", str(len(stored.body)).encode()),
            (b"idempotent-replayed", b"true"),
            (REQUEST_ID_HEADER.encode(), request_id_of(scope).encode()),
        ],
    }
    body_event: Any = {"type": "http.response.body", "body": stored.body}
    await send(start)
    await send(body_event)

