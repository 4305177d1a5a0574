"""Idempotency-Key on creating POSTs.

The same key with the same request replays the first response, status and
body included; with a different request it is 409 CONFLICT, and so is a
repeat while the first is still running. Keys are per account and kept for
24 hours. A response the server failed to produce (5xx) is not kept, so the
client can retry with the same key. Behind this, sends derive their message
ids from the key, so even a lost response cannot charge twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.errors import send_error
from adapters.http.key_middleware import principal_of
from adapters.http.request_id import REQUEST_ID_HEADER, request_id_of
from adapters.http.sandbox_mode import SANDBOX_HEADER, sandbox_requested, scoped_idempotency_key
from adapters.postgres.idempotency import Claim, PostgresIdempotencyKeys, StoredResponse

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
PRUNE_EVERY_REQUESTS = 1000
CREDENTIAL_STATUSES = frozenset({401, 403, 429})


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    counter = itertools.count(1)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        key = headers.get("idempotency-key")
        container = scope["app"].state.container
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
        body = await _read_body(receive, container.settings.max_request_body_bytes)
        if body is None:
            raise ClientException("Request body too large", status_code=413)
        store = PostgresIdempotencyKeys(container.pool)
        if next(counter) % PRUNE_EVERY_REQUESTS == 0:
            await asyncio.to_thread(store.prune)
        digest = hashlib.sha256(
            f"{scope['method']} {scope['path']}\n".encode() + (body or b"")
        ).digest()
        claim, stored = await asyncio.to_thread(store.claim, principal.account_id, key, digest)
        if claim == Claim.DONE and stored is not None:
            await _replay(scope, send, stored)
        elif claim == Claim.MISMATCH:
            await send_error(scope, send, "CONFLICT",
                             "This Idempotency-Key was used with a different request")
        elif claim == Claim.IN_FLIGHT:
            await send_error(scope, send, "CONFLICT",
                             "A request with this Idempotency-Key is still in progress")
        else:
            await _run_and_keep(app, scope, send, body, store, principal.account_id, key)

    return middleware


async def _run_and_keep(
    app: ASGIApp, scope: Scope, send: Send, body: bytes | None,
    store: PostgresIdempotencyKeys, account_id: str, key: str,
) -> None:
    captured: dict[str, Any] = {"status": 500, "content_type": "application/json", "body": []}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    captured["content_type"] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            captured["body"].append(message.get("body", b""))
        await send(message)

    try:
        await app(scope, _replaying(body), capture)
    finally:
        status = int(captured["status"])
        try:
            # Not kept either: answers about the credential rather than the
            # request, which the client fixes and then retries with the same key.
            if status >= 500 or status in CREDENTIAL_STATUSES:
                await asyncio.to_thread(store.release, account_id, key)
            else:
                response = StoredResponse(
                    status, captured["content_type"], b"".join(captured["body"])
                )
                await asyncio.to_thread(store.complete, account_id, key, response)
        except psycopg.Error:
            # The database went away after the answer was sent: nothing can
            # be answered any more, and the claim is taken over once abandoned.
            log.warning("could not settle Idempotency-Key %r (status %s)", key, status,
                        exc_info=True)


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


async def _replay(scope: Scope, send: Send, stored: StoredResponse) -> None:
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

