"""How a JSON request body becomes a route's `data`: one decoder for every
route, strict about types and media type, and never a 500 for bytes a
client chose.

Litestar's own path decodes the body without a type and then converts it
with msgspec's lax rules, under which `"60"` is an integer and `"true"` a
boolean; it also decodes any body as JSON whatever its Content-Type says,
and lets msgspec's UnicodeDecodeError (invalid UTF-8 in a string) and
RecursionError (deeply nested arrays) through to the catch-all handler.
`JsonRequest.json` instead decodes straight into the route's body type with
`strict=True`:

- a body that is not JSON text (malformed, invalid UTF-8, nested deeper
  than the decoder goes) is VALIDATION_ERROR at once;
- a declared Content-Type other than JSON is 415 UNSUPPORTED_MEDIA_TYPE, so
  a form or multipart upload is never read as a command;
- a body of the wrong shape or types is VALIDATION_ERROR too, but only once
  the route's dependencies (authentication first) have run: the decoder
  keeps the error and hands Litestar a placeholder that its conversion then
  refuses; `refused_body_error` gives the kept error to the error handler.
  A caller without credentials thus still learns 401 before anything about
  the body.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException
from litestar.serialization import default_deserializer
from litestar.types import Empty, Scope

BODY_ERROR_STATE_KEY = "smsledger.body_error"
# msgspec's error text ends with the location, e.g. "- at `$.to[3]`".
_LOCATION = re.compile(r"\s+- at `\$\.?(.*)`$")


class RefusedBody:
    """Stands in for a body that did not validate; no body type accepts it."""

    __slots__ = ()


REFUSED = RefusedBody()


def is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def refused_body_error(scope: Scope) -> ValidationException | None:
    """The validation error of this request's body, kept until now."""
    error = scope.get("state", {}).get(BODY_ERROR_STATE_KEY)
    return error if isinstance(error, ValidationException) else None


class JsonRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if self._json is Empty:
            state = self._connection_state
            if state.json is Empty:
                state.json = await self._decode_body()
            self._json = state.json
        return self._json

    async def _decode_body(self) -> Any:
        body = await self.body()
        content_type = self.headers.get("content-type")
        if content_type is not None and not is_json_media_type(content_type):
            raise ClientException(
                f"The body must be JSON (Content-Type: application/json), not {content_type}",
                status_code=415,
            )
        handler = self.route_handler
        parameter = handler.parsed_fn_signature.parameters.get("data")
        body_type = Any if parameter is None else parameter.annotation
        try:
            return msgspec.json.decode(
                body or b"null", type=body_type, strict=True,
                dec_hook=partial(default_deserializer,
                                 type_decoders=handler.resolve_type_decoders()),
            )
        except msgspec.ValidationError as error:
            self.scope.setdefault("state", {})[BODY_ERROR_STATE_KEY] = self._refusal(error)
            return REFUSED
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
            raise ValidationException(f"The body is not readable JSON: {error}") from None

    def _refusal(self, error: msgspec.ValidationError) -> ValidationException:
        """The error in the shape Litestar gives its own validation errors."""
        text = str(error)
        located = _LOCATION.search(text)
        detail: dict[str, str] = {"message": _LOCATION.sub("", text), "source": "body"}
        if located is not None and located.group(1):
            detail["key"] = located.group(1)
        return ValidationException(
            detail=f"Validation failed for {self.method} {self.url.path}", extra=[detail]
        )
