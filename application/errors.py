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
