"""`X-Sandbox: true` puts a live key's request in the sandbox.

A test key is always in the sandbox: `X-Sandbox: false` cannot take it live.
An Idempotency-Key is scoped to the mode it was used in, so a key first used
in the sandbox never replays (or blocks) the live request that reuses it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

from application.identity.principal import Principal

SANDBOX_HEADER = "x-sandbox"
_ON, _OFF = frozenset({"true", "1"}), frozenset({"false", "0", ""})


def sandbox_requested(value: str | None) -> bool:
    """Whether an X-Sandbox header value asks for the sandbox (a value that
    means neither is refused by `with_sandbox_header`)."""
    return value is not None and value.strip().lower() in _ON


def scoped_idempotency_key(key: str | None, *, sandbox: bool) -> str | None:
    if key is None or not sandbox:
        return key
    return f"sandbox/{key}"


def with_sandbox_header(request: Request[Any, Any, Any], principal: Principal) -> Principal:
    value = request.headers.get(SANDBOX_HEADER)
    if value is None or principal.sandbox:
        return principal
    text = value.strip().lower()
    if text in _ON:
        return replace(principal, sandbox=True)
    if text in _OFF:
        return principal
    raise ValidationException("X-Sandbox is true or false")
