"""Which senders an account may use, and how a sender ID request moves."""

from __future__ import annotations

import pytest

from domain.errors import InvalidTransition
from domain.messaging.sender import (
    InvalidSenderId,
    SenderIdStatus,
    SenderKind,
    check_sender_allowed,
    decide_sender_id,
    sender_kind,
)


@pytest.mark.parametrize(("sender", "kind"), [
    ("Acme", SenderKind.ALPHANUMERIC), ("Elevenchars", SenderKind.ALPHANUMERIC),
    ("My Shop", SenderKind.ALPHANUMERIC), ("447700900123", SenderKind.NUMERIC),
    ("+447700900123", SenderKind.NUMERIC), ("12345", SenderKind.NUMERIC),
])
def test_kinds(sender: str, kind: SenderKind) -> None:
    assert sender_kind(sender) == kind


@pytest.mark.parametrize("sender", ["TwelveChars1", "Bad!Sender", "", "12", "+1234567890123456"])
def test_malformed_senders_are_invalid(sender: str) -> None:
    with pytest.raises(InvalidSenderId):
        sender_kind(sender)


def test_live_traffic_needs_an_approved_id_or_numeric_permission() -> None:
    check_sender_allowed("Acme", approved={"Acme"}, numeric_allowed=False, sandbox=False)
    with pytest.raises(InvalidSenderId):
        check_sender_allowed("Other", approved={"Acme"}, numeric_allowed=True, sandbox=False)
    with pytest.raises(InvalidSenderId):
        check_sender_allowed("447700900123", approved=(), numeric_allowed=False, sandbox=False)
    check_sender_allowed("447700900123", approved=(), numeric_allowed=True, sandbox=False)
    check_sender_allowed("447700900123", approved={"447700900123"}, numeric_allowed=False,
                         sandbox=False)


def test_the_sandbox_takes_any_well_formed_sender() -> None:
    check_sender_allowed("Anything", approved=(), numeric_allowed=False, sandbox=True)
    check_sender_allowed("447700900123", approved=(), numeric_allowed=False, sandbox=True)
    with pytest.raises(InvalidSenderId):
        check_sender_allowed("TwelveChars1", approved=(), numeric_allowed=False, sandbox=True)


def test_a_request_is_decided_once() -> None:
    assert decide_sender_id(SenderIdStatus.PENDING, approve=True) == SenderIdStatus.APPROVED
    assert decide_sender_id(SenderIdStatus.PENDING, approve=False) == SenderIdStatus.REJECTED
    for decided in (SenderIdStatus.APPROVED, SenderIdStatus.REJECTED):
        for approve in (True, False):
            with pytest.raises(InvalidTransition):
                decide_sender_id(decided, approve=approve)
