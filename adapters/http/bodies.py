"""What every resource's bodies share, as msgspec structs: the envelopes of
every answer (`Envelope[XOut]`, and `Page[XOut]` for a list), the `meta` and
pagination blocks, the base of request structs, and the error envelope.

adapters/http/errors.py builds every error answer; ErrorResponse describes
the same shape for the OpenAPI document, so clients can generate a type for it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

# No PostgreSQL text column can hold a NUL character: text that is stored or
# looked up refuses it as VALIDATION_ERROR rather than failing the query.
NO_NUL = r"^[^\x00]*$"

T = TypeVar("T")


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Requests forbid unknown fields, so a typo or an attempt to set a price,
    a status or another account's id is a VALIDATION_ERROR, not silently ignored."""


class Meta(msgspec.Struct):
    request_id: str


class Pagination(msgspec.Struct):
    total: int
    page_size: int
    has_more: bool
    cursor: str | None  # the token for the next page; null on the last one


class Envelope(msgspec.Struct, Generic[T]):
    """Every answer but an error or a list: `{"data": ..., "meta": {request_id}}`."""

    data: T
    meta: Meta


class Page(msgspec.Struct, Generic[T]):
    """A list answer: one page of `data`, and how to ask for the next."""

    data: list[T]
    pagination: Pagination
    meta: Meta


class DeletedOut(msgspec.Struct):
    id: str
    deleted: bool


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
