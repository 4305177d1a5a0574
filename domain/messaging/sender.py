"""Sender IDs: an alphanumeric name of up to 11 characters, or a number."""

from __future__ import annotations

import re

from domain.errors import DomainError


class InvalidSenderId(DomainError):
    code = "INVALID_SENDER_ID"


MAX_ALPHANUMERIC_LENGTH = 11
# Alphanumeric senders must contain a letter: handsets show an all-digit
# sender as a phone number, so a digits-only value must be a real number.
_ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ._&-]{1,11}$")
_NUMERIC = re.compile(r"^\+?[0-9]{3,15}$")


def validate_sender_id(sender: str) -> str:
    if _ALPHANUMERIC.match(sender) or _NUMERIC.match(sender):
        return sender
    raise InvalidSenderId(
        "Sender ID must be up to 11 letters and digits, or a phone number",
        sender=sender,
        max_length=MAX_ALPHANUMERIC_LENGTH,
    )
