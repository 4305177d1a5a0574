"""Errors the application raises on top of the domain's."""

from __future__ import annotations

from domain.errors import DomainError


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"


class ConcurrencyExhausted(DomainError):
    """Another process kept writing the same wallet; the caller may retry."""

    code = "SERVICE_UNAVAILABLE"


class PaymentsUnavailable(DomainError):
    """Card payments are not configured here, or the processor cannot be reached."""

    code = "SERVICE_UNAVAILABLE"


class InvalidSignature(DomainError):
    """A payment notification whose signature, age or secret does not check out."""

    code = "INVALID_SIGNATURE"
