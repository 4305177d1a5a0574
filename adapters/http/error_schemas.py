"""The error envelope as msgspec structs, for the OpenAPI document.

adapters/http/errors.py builds every error answer; these structs describe
the same shape, so clients can generate a type for it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from adapters.http.sms.schemas import Meta


class ErrorOut(msgspec.Struct):
    """A code from the public error table, a sentence for people, and
    machine-readable details (for example `required` and `available` for
    INSUFFICIENT_BALANCE, or `errors` for VALIDATION_ERROR)."""

    code: str
    message: str
    details: dict[str, Any]


class ErrorResponse(msgspec.Struct):
    """Every error answer: `{"error": {code, message, details}, "meta": {request_id}}`."""

    error: ErrorOut
    meta: Meta
