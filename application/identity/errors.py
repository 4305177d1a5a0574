"""Refusals of sign-in, in the public error table's codes."""

from __future__ import annotations

from domain.errors import DomainError


class InvalidCredentials(DomainError):
    """Wrong email or password, or a token that is unknown, expired or revoked.

    One error for all of them, so that a caller cannot learn which part was
    wrong (and so whether an email has an account)."""

    code = "UNAUTHORIZED"


class AccountLocked(DomainError):
    code = "ACCOUNT_LOCKED"


class EmailTaken(DomainError):
    code = "CONFLICT"


class PasswordCheckBusy(DomainError):
    """Every password-hashing slot of this process is taken: the caller is
    asked to come back (details carry retry_after_s) rather than queued."""

    code = "SERVICE_UNAVAILABLE"
