"""The journal: every ledger entry of every wallet, in chain order, with the
exact bytes its hash covers, for finance and for programs that re-check it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.ledger.app import LedgerApplication
from application.ledger.verification import LedgerVerifier
from domain import ledger
from domain.wallet import Wallet


@dataclass(frozen=True, slots=True)
class JournalEntry:
    wallet_id: UUID
    account_id: str
    version: int
    type: str  # the type name the entry's hash covers, as in `body`
    occurred_at: datetime
    postings: tuple[tuple[str, int], ...]
    previous_hash: str
    entry_hash: str
    body: str  # the canonical JSON whose sha256, after previous_hash, is entry_hash


def journal(app: LedgerApplication) -> Iterator[JournalEntry]:
    for wallet_id in LedgerVerifier(app).wallet_ids():
        previous = ledger.GENESIS_HASH
        for event in app.events.get(wallet_id):
            if not isinstance(event, Wallet.MoneyMoved):
                continue
            yield JournalEntry(
                wallet_id=wallet_id, account_id=event.account_id,
                version=event.originator_version, type=event.HASHED_TYPE_NAME,
                occurred_at=event.timestamp, postings=tuple(event.postings),
                previous_hash=previous, entry_hash=event.entry_hash,
                body=event.hashed_body().decode(),
            )
            previous = event.entry_hash
