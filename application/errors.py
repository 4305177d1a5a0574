"""Errors the application raises on top of the domain's."""

from __future__ import annotations

from domain.errors import DomainError


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"


class Unavailable(DomainError):
    """Something the command needs cannot be reached or kept busy; the caller
    may retry after `retry_after_s` seconds (the HTTP answer's Retry-After)."""

    code = "SERVICE_UNAVAILABLE"
    retry_after_s = 1


class ConcurrencyExhausted(Unavailable):
    """Another process kept writing the same wallet; the caller may retry."""


class OutcomeUnknown(Unavailable):
    """The connection to the store was lost after a write had been sent, so
    whether it was saved cannot be known here. It must never be reported as
    done, nor as not done: a retry with the same Idempotency-Key, whose ids
    are derived from the key, finds out without doing it twice."""


def check_text(value: str, field: str) -> str:
    """Refuse a NUL character, which no PostgreSQL text column can hold, so
    that it is the caller's VALIDATION_ERROR and not our failure to save."""
    if "\x00" in value:
        raise ValidationFailed(f"{field} cannot contain a NUL character", field=field)
    return value


class PaymentsUnavailable(DomainError):
    """Card payments are not configured here, or the processor cannot be reached."""

    code = "SERVICE_UNAVAILABLE"


class InvalidSignature(DomainError):
    """A payment notification whose signature, age or secret does not check out."""

    code = "INVALID_SIGNATURE"
