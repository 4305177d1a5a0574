"""Sender IDs: an alphanumeric name of up to 11 characters, or a number.

Which sender an account may use on live traffic is decided here from facts
the caller looks up (the account's approved sender IDs and whether it may
send from numbers); the sandbox never reaches a handset, so it accepts any
well-formed sender.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum

from domain.errors import DomainError, InvalidTransition


class InvalidSenderId(DomainError):
    code = "INVALID_SENDER_ID"


class SenderKind(StrEnum):
    ALPHANUMERIC = "alphanumeric"
    NUMERIC = "numeric"


class SenderIdStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


MAX_ALPHANUMERIC_LENGTH = 11
# Alphanumeric senders must contain a letter: handsets show an all-digit
# sender as a phone number, so a digits-only value must be a real number.
_ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ._&-]{1,11}$")
_NUMERIC = re.compile(r"^\+?[0-9]{3,15}$")
# The two ways to have a sender ID approved, as a refusal names them.
REQUEST_SENDER_ID = "POST /v1/settings/sender-ids"
ACCOUNTS_CREATE = "smsledger accounts create"


def validate_sender_id(sender: str) -> str:
    if _ALPHANUMERIC.match(sender) or _NUMERIC.match(sender):
        return sender
    raise InvalidSenderId(
        "Sender ID must be up to 11 letters and digits, or a phone number",
        sender=sender,
        max_length=MAX_ALPHANUMERIC_LENGTH,
    )


def sender_kind(sender: str) -> SenderKind:
    """The kind of a well-formed sender; raises InvalidSenderId otherwise."""
    validate_sender_id(sender)
    return SenderKind.NUMERIC if _NUMERIC.match(sender) else SenderKind.ALPHANUMERIC


def check_sender_allowed(
    sender: str, *, approved: Collection[str], numeric_allowed: bool, sandbox: bool
) -> None:
    """Raise InvalidSenderId unless this sender may be used.

    Live traffic needs an approved sender ID, or a number when the account is
    configured to send from numbers. The sandbox takes any well-formed one.
    """
    kind = sender_kind(sender)
    if sandbox or sender in approved:
        return
    if kind == SenderKind.NUMERIC and numeric_allowed:
        return
    # The refusal names both ways out: the account asks for the sender ID
    # (an operator then approves it), or the operator approves it at once.
    if kind == SenderKind.NUMERIC:
        raise InvalidSenderId(
            f"This account may not send from the number {sender}: request it as a sender ID"
            f" with {REQUEST_SENDER_ID}, or have an operator allow numeric senders"
            f" ({ACCOUNTS_CREATE} --numeric-senders)",
            sender=sender,
            request_with=REQUEST_SENDER_ID,
            operator_command=f"{ACCOUNTS_CREATE} --numeric-senders",
        )
    raise InvalidSenderId(
        f"Sender ID {sender} is not approved for this account: request it with"
        f" {REQUEST_SENDER_ID} (an operator approves it), or have an operator create the"
        f" account with it approved ({ACCOUNTS_CREATE} --sender-id {sender})."
        " The sandbox accepts any well-formed sender ID",
        sender=sender,
        request_with=REQUEST_SENDER_ID,
        operator_command=f"{ACCOUNTS_CREATE} --sender-id {sender}",
    )


def decide_sender_id(current: SenderIdStatus, *, approve: bool) -> SenderIdStatus:
    """A request moves once, from pending to approved or rejected."""
    if current != SenderIdStatus.PENDING:
        raise InvalidTransition(
            f"This sender ID is already {current}", status=str(current)
        )
    return SenderIdStatus.APPROVED if approve else SenderIdStatus.REJECTED
