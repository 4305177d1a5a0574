"""The base classes of the wallet's events, and the check of one ledger entry.

They live apart from the aggregate so that the wallet's billing events (card
refunds, disputes, alerts, auto top-up) can be declared in their own module
without importing the aggregate that nests them.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any

from eventsourcing.domain import Aggregate

from domain import ledger

Postings = tuple[tuple[str, int], ...]


class WalletEvent(Aggregate.Event):
    # Every event names its account, so that consumers of the published log
    # never have to look an aggregate up to know whose it is.
    account_id: str


class MoneyMoved(WalletEvent):
    """Base of every event that moves money; never triggered itself."""

    postings: Postings
    entry_hash: str

    def hashed_body(self) -> bytes:
        state = self.__dict__
        body: dict[str, Any] = {name: state[name] for name in _hashed_fields(type(self))}
        body["type"] = type(self).__qualname__
        return ledger.canonical_body(body)

    def apply(self, aggregate: Any) -> None:
        aggregate._apply_postings(self.postings)
        aggregate.last_entry_hash = self.entry_hash


@cache
def _hashed_fields(event_class: type[MoneyMoved]) -> tuple[str, ...]:
    """The fields an entry's hash covers: all but the hash itself. Looked up
    once per class, since a ledger replay asks for every entry."""
    return tuple(f.name for f in fields(event_class) if f.name != "entry_hash")


def hashed_body_for(event_class: type[MoneyMoved], **values: Any) -> bytes:
    """The canonical body of an event not built yet, as `hashed_body` will see it."""
    body = dict(values)
    body["type"] = event_class.__qualname__
    return ledger.canonical_body(body)


def verify_entry(previous_hash: str, event: MoneyMoved) -> bool:
    """True when the event's hash follows from the previous one and its body."""
    return ledger.chain_hash(previous_hash, event.hashed_body()) == event.entry_hash
