"""Double-entry postings and the hash chain that makes a wallet tamper-evident.

A posting moves `amount_micros` into one ledger account; every money event
carries postings that sum to zero, so money is only ever moved, never made.
Each money event also carries `entry_hash = sha256(previous_hash + body)`,
where body is the event's canonical JSON, so editing or dropping any stored
entry breaks every hash after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

GENESIS_HASH = "0" * 64

# Chart of accounts. Customer accounts are liabilities of ours: `wallet:` holds
# spendable funds and `holds:` funds reserved for messages not yet settled.
REVENUE_SMS = "revenue:sms"
CLEARING_STRIPE = "clearing:stripe"
PROMOTIONS = "promotions"
ADJUSTMENTS = "adjustments"

Posting = tuple[str, int]


def wallet_account(account_id: str) -> str:
    return f"wallet:{account_id}"


def holds_account(account_id: str) -> str:
    return f"holds:{account_id}"


def postings_balance(postings: Iterable[Posting]) -> int:
    return sum(amount_micros for _, amount_micros in postings)


def transfer(source: str, destination: str, amount_micros: int) -> tuple[Posting, Posting]:
    """Move `amount_micros` from `source` to `destination` as two postings."""
    assert amount_micros >= 0, "a transfer moves a non-negative amount"
    return ((source, -amount_micros), (destination, amount_micros))


_canonical_encoder = msgspec.json.Encoder(order="sorted")


def canonical_body(fields: Mapping[str, Any]) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTC timestamps as RFC 3339."""
    return _canonical_encoder.encode(fields)


def chain_hash(previous_hash: str, body: bytes) -> str:
    return hashlib.sha256(previous_hash.encode("ascii") + body).hexdigest()
