"""The name a ledger entry's hash covers is data, like the hash itself.

Each money event declares the type name its hash covers. These names were
read from the code that wrote today's ledgers; moving or nesting a class
must not change them, or every stored chain after its first such entry
stops verifying.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from domain import ledger
from domain.wallet import TopUpSource, Wallet, verify_entry

WALLET_ID = UUID("6f1c2a9e-3b4d-4e5f-8a7b-0c1d2e3f4a5b")
AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
ACCOUNT = "acct-1"

# (event class, the name its hash covers, fields of a fixed entry, the hash of
# that entry after the genesis hash as the code before the nesting computed it)
ENTRY_KINDS: list[tuple[type[Wallet.MoneyMoved], str, dict[str, Any], str]] = [
    (
        Wallet.ToppedUp,
        "Wallet.ToppedUp",
        {
            "postings": (("clearing:stripe", -5), ("wallet:acct-1", 5)),
            "amount_micros": 5,
            "source": "stripe",
            "external_ref": "cs_1",
        },
        "4f443692df3217eb5c28379d11aad429f332164c38ecdc81d86b2f414c25cc51",
    ),
    (
        Wallet.FundsReserved,
        "Wallet.FundsReserved",
        {
            "postings": (("wallet:acct-1", -3), ("holds:acct-1", 3)),
            "reservation_id": "r1",
            "amount_micros": 3,
            "reference": "bulk-1",
        },
        "bf1a1fb060adc6ede3dd401398e062c44e89e6ad6af33d8b6729be43b61a9dde",
    ),
    (
        Wallet.ReservationsSettled,
        "Wallet.ReservationsSettled",
        {
            "postings": (
                ("holds:acct-1", -2),
                ("revenue:sms", 2),
                ("holds:acct-1", -1),
                ("wallet:acct-1", 1),
            ),
            "settlements": (("r1", "7d0c7b1e-0000-4000-8000-000000000001", 2, 1),),
            "captured_micros": 2,
            "released_micros": 1,
        },
        "ae51e1261230218ead4ff6cb8cbad6fdb335c8eb637a976b11239f3edc5d4c53",
    ),
    (
        Wallet.Adjusted,
        "Wallet.Adjusted",
        {
            "postings": (("adjustments", -4), ("wallet:acct-1", 4)),
            "amount_micros": 4,
            "reason": "goodwill",
            "reference": "T-1",
        },
        "8fc34ed714d03080ca02dec3e92834aac6052c22cbb1db329eb4a89dc42ec08c",
    ),
    (
        # Declared at module level before it was nested in Wallet: its
        # hashed name has no "Wallet." prefix, and must keep none.
        Wallet.Refunded,
        "Refunded",
        {
            "postings": (("wallet:acct-1", -5), ("clearing:stripe", 5)),
            "amount_micros": 5,
            "charge_id": "ch_1",
            "refunded_total_micros": 5,
        },
        "905c84505c6022efd52b5cc5f1aa64341fbedd72c91d71077c1b8a5dc14dcaee",
    ),
]


def _entry(event_class: type[Wallet.MoneyMoved], version: int, **fields: Any) -> Any:
    envelope: dict[str, Any] = {
        "originator_id": WALLET_ID,
        "timestamp": AT,
        "account_id": ACCOUNT,
        "entry_hash": "",
    }
    return event_class(originator_version=version, **{**envelope, **fields})


def test_every_entry_kind_is_pinned() -> None:
    kinds = {
        value
        for value in vars(Wallet).values()
        if isinstance(value, type)
        and issubclass(value, Wallet.MoneyMoved)
        and value is not Wallet.MoneyMoved
    }
    assert kinds == {kind for kind, *_ in ENTRY_KINDS}


@pytest.mark.parametrize(
    ("event_class", "hashed_name", "fields", "expected_hash"),
    ENTRY_KINDS,
    ids=[name for _, name, _, _ in ENTRY_KINDS],
)
def test_hashed_type_name_and_entry_hash_are_unchanged(
    event_class: type[Wallet.MoneyMoved],
    hashed_name: str,
    fields: dict[str, Any],
    expected_hash: str,
) -> None:
    assert event_class.HASHED_TYPE_NAME == hashed_name
    version = 2 + [kind for kind, *_ in ENTRY_KINDS].index(event_class)
    entry = _entry(event_class, version, **fields)
    assert ledger.chain_hash(ledger.GENESIS_HASH, entry.hashed_body()) == expected_hash


def test_a_refund_written_before_the_nesting_still_verifies() -> None:
    # Wallet 90bcedc1 of the stored v1 fixture, version 3, and the entry hash
    # of its version 2: a card refund as today's ledgers hold it.
    account = "7eff5c5d-e1bf-4814-adca-bb20002d4597"
    refund = _entry(
        Wallet.Refunded,
        3,
        originator_id=UUID("90bcedc1-5b31-5723-9c1e-bbe5494a1f53"),
        timestamp=datetime(2026, 12, 8, 2, 38, 35, 276583, tzinfo=UTC),
        account_id=account,
        postings=((f"wallet:{account}", -5_000_000), ("clearing:stripe", 5_000_000)),
        amount_micros=5_000_000,
        charge_id="ch_cs_test_0000000915265",
        refunded_total_micros=5_000_000,
        entry_hash="e03740d79a9fb00f12e25570a896267c0c5afdd31c4cdc3ff210c5951e59e19d",
    )
    assert verify_entry("bffd17c6885626bdd7cdfc014c171752f9c5a5d5a33aeebcd745cd711ea71685", refund)


def test_a_new_refund_hashes_the_name_it_declares() -> None:
    wallet = Wallet.open(WALLET_ID, ACCOUNT, "GBP")
    wallet.top_up(10_000_000, TopUpSource.STRIPE, "cs_1")
    wallet.refund("ch_1", 4_000_000)
    refund = next(e for e in wallet.collect_events() if isinstance(e, Wallet.Refunded))
    assert b'"type":"Refunded"' in refund.hashed_body()
