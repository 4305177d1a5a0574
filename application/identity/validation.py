"""Checks on what users type: emails and passwords."""

from __future__ import annotations

import re

from application.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 8
# Argon2 hashes any length, but a bound keeps one request's hashing bounded.
MAX_PASSWORD_LENGTH = 128
MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normal_email(email: str) -> str:
    """The address in the form we store and compare: trimmed, lower case."""
    value = email.strip().lower()
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(value):
        raise ValidationFailed("email is not a valid address", email=email)
    return value


def check_password(password: str, field: str = "password") -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"{field} must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            field=field,
        )
