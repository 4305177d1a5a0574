"""`X-Sandbox: true` puts a live key's request in the sandbox.

A test key is always in the sandbox: `X-Sandbox: false` cannot take it live.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

from adapters.postgres.accounts import Principal

SANDBOX_HEADER = "x-sandbox"
_ON, _OFF = frozenset({"true", "1"}), frozenset({"false", "0", ""})


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
