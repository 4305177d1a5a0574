"""What a carrier's delivery-receipt state means for a message.

SMPP 3.4 receipts carry a seven-character `stat` (DELIVRD, UNDELIV, ...);
the same words are used by HTTP carriers. The word is kept verbatim on the
message; this table only decides the status it moves to.
"""

from __future__ import annotations

from domain.messaging.status import MessageStatus

# Intermediate states keep the message `sent`; final ones end it.
_STATUS_BY_CARRIER_STATE: dict[str, MessageStatus] = {
    "DELIVRD": MessageStatus.DELIVERED,
    "UNDELIV": MessageStatus.FAILED,
    "EXPIRED": MessageStatus.EXPIRED,
    "REJECTD": MessageStatus.REJECTED,
    "DELETED": MessageStatus.FAILED,
    "UNKNOWN": MessageStatus.FAILED,
    "ACCEPTD": MessageStatus.SENT,
    "ENROUTE": MessageStatus.SENT,
}

# SMPP message_state TLV values (SMPP 3.4, section 5.2.28) as receipt words.
MESSAGE_STATE_WORDS: dict[int, str] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}


def status_for_carrier_state(carrier_state: str) -> MessageStatus:
    """The status a receipt moves a message to; unknown words mean failed,
    because a carrier that invents a state has not delivered."""
    return _STATUS_BY_CARRIER_STATE.get(carrier_state.strip().upper(), MessageStatus.FAILED)
