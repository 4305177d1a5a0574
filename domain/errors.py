"""Domain errors: raised for rule violations a caller can cause and correct.

Each carries a stable `code` that the HTTP layer maps to the public error table,
and `details` that explain the refusal in numbers, never in prose alone.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "VALIDATION_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details


class InvalidPhoneNumber(DomainError):
    code = "INVALID_PHONE_NUMBER"


class MessageTooLong(DomainError):
    code = "MESSAGE_TOO_LONG"


class MissingTemplateVariable(DomainError):
    code = "MISSING_VARIABLE"


class UnsupportedDestination(DomainError):
    code = "UNSUPPORTED_DESTINATION"


class InsufficientBalance(DomainError):
    code = "INSUFFICIENT_BALANCE"


class InvalidAmount(DomainError):
    code = "VALIDATION_ERROR"


class CurrencyMismatch(DomainError):
    code = "VALIDATION_ERROR"


class InvalidTransition(DomainError):
    code = "CONFLICT"


class UnknownReservation(DomainError):
    code = "CONFLICT"


class DuplicateReservation(DomainError):
    code = "CONFLICT"


class RecipientOptedOut(DomainError):
    code = "OPT_OUT"


class AccountFrozen(DomainError):
    """Sending is frozen, e.g. while a card payment is disputed."""

    code = "ACCOUNT_FROZEN"
