"""Form-encoded sends (seed 004): `POST /v1/sms/send` with
`application/x-www-form-urlencoded` is turned into the equivalent JSON body
before routing, so the one JSON handler, its validation and the
Idempotency-Key machinery treat both encodings alike.

Field by field: `to` may repeat (or be sent as `to[]`) for several numbers;
`variables[name]=value` fills the variables object; `unicode` takes
true/false/1/0; `validity_minutes` is an integer; every other field is
passed on as text, so an unknown field is still a VALIDATION_ERROR.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, ValidationException
from litestar.types import ASGIApp, Receive, Scope, Send

FORM_PATHS = frozenset({"/v1/sms/send"})
FORM_TYPE = "application/x-www-form-urlencoded"
# A form carries one message's fields; a bound on their number keeps the
# parser's work bounded whatever the body size.
MAX_FORM_FIELDS = 1_100
_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})


def form_body_middleware(app: ASGIApp, *, max_body_bytes: int) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") not in FORM_PATHS
        ):
            await app(scope, receive, send)
            return
        # Not Headers.from_scope: it caches the headers in the scope, and the
        # route would then see the form's Content-Type instead of JSON's.
        headers = Headers(scope["headers"])
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            await app(scope, receive, send)
            return
        body = json.dumps(form_to_json(await _read_limited(receive, max_body_bytes))).encode()
        scope["headers"] = [
            (name, value) for name, value in scope["headers"]
            if name.lower() not in (b"content-type", b"content-length")
        ] + [(b"content-type", b"application/json"),
             (b"content-length", str(len(body)).encode())]
        await app(scope, _once(body), send)

    return middleware


def form_to_json(raw: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as error:
        raise ValidationException(f"Unreadable form body: {error}") from None
    document: dict[str, Any] = {}
    numbers: list[str] = []
    as_list = False
    variables: dict[str, str] = {}
    for name, value in pairs:
        if name in ("to", "to[]"):
            numbers.append(value)
            as_list = as_list or name == "to[]"
        elif name.startswith("variables[") and name.endswith("]"):
            variables[name[len("variables["):-1]] = value
        elif name in document:
            raise ValidationException(f"The form field {name} is given twice")
        else:
            document[name] = _typed(name, value)
    if numbers:
        document["to"] = numbers if as_list or len(numbers) > 1 else numbers[0]
    if variables:
        document["variables"] = variables
    return document


def _typed(name: str, value: str) -> Any:
    if name == "unicode":
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValidationException("unicode is true or false")
    if name == "validity_minutes":
        try:
            return int(value)
        except ValueError:
            raise ValidationException("validity_minutes is a whole number") from None
    return value


async def _read_limited(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise ClientException("The client went away", status_code=400)
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ClientException("Request body too large", status_code=413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _once(body: bytes) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
