"""Inbound (mobile-originated) messages, and the opt-outs they carry.

A reply of STOP (or one of its synonyms) opts the number out of the account
that last wrote to it; START or UNSTOP opts it back in. Keywords are matched
on the whole trimmed body, case-insensitively, as carriers and regulators
expect.
"""

from __future__ import annotations

from enum import StrEnum

from eventsourcing.domain import Aggregate

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})


class OptAction(StrEnum):
    NONE = ""
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


def opt_action_of(body: str) -> OptAction:
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return OptAction.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return OptAction.OPT_IN
    return OptAction.NONE


class InboundMessage(Aggregate):
    class Received(Aggregate.Created):
        account_id: str
        carrier: str
        source: str
        destination: str
        body: str

    class Event(Aggregate.Event):
        account_id: str

    class OptedOut(Event):
        phone: str
        keyword: str

    class OptedIn(Event):
        phone: str
        keyword: str

    def __init__(
        self, account_id: str, carrier: str, source: str, destination: str, body: str
    ) -> None:
        self.account_id = account_id
        self.carrier = carrier
        self.source = source
        self.destination = destination
        self.body = body

    @classmethod
    def receive(
        cls, *, account_id: str, carrier: str, source: str, destination: str, body: str
    ) -> InboundMessage:
        message = cls._create(
            cls.Received, account_id=account_id, carrier=carrier, source=source,
            destination=destination, body=body,
        )
        action = opt_action_of(body)
        keyword = body.strip().upper()
        if action != OptAction.NONE:
            event_class = cls.OptedOut if action == OptAction.OPT_OUT else cls.OptedIn
            message.trigger_event(
                event_class, account_id=account_id, phone=source, keyword=keyword
            )
        return message

    @property
    def opt_action(self) -> OptAction:
        return opt_action_of(self.body)
