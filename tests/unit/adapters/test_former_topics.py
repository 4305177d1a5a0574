"""Events stored under the topics their classes had before they were nested
in Wallet still load, and reads that select by topic still find them.

Stored topics are data (`module:QualName`): the rows written before the
billing and money events moved into `domain.wallet` keep their old topics.
"""

from __future__ import annotations

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from adapters.eventstore.mapper import MsgspecMapper
from adapters.projector.status import topics_of
from application.ledger.topics import stored_topics
from domain.wallet import Wallet, verify_entry
from projections.wallet_transactions import WalletTransactions

# Every class that moved, under the topic stored rows may carry.
MOVED: list[tuple[str, type]] = [
    ("domain.wallet_events:WalletEvent", Wallet.Event),
    ("domain.wallet_events:MoneyMoved", Wallet.MoneyMoved),
    ("domain.wallet_billing:Refunded", Wallet.Refunded),
    ("domain.wallet_billing:Flagged", Wallet.Flagged),
    ("domain.wallet_billing:Unflagged", Wallet.Unflagged),
    ("domain.wallet_billing:DisputeOpened", Wallet.DisputeOpened),
    ("domain.wallet_billing:DisputeResolved", Wallet.DisputeResolved),
    ("domain.wallet_billing:LowBalanceCrossed", Wallet.LowBalanceCrossed),
    ("domain.wallet_billing:AutoTopUpConfigured", Wallet.AutoTopUpConfigured),
    ("domain.wallet_billing:AutoTopUpRequested", Wallet.AutoTopUpRequested),
    ("domain.wallet_billing:AutoTopUpSucceeded", Wallet.AutoTopUpSucceeded),
    ("domain.wallet_billing:AutoTopUpFailed", Wallet.AutoTopUpFailed),
]

WALLET_ID = "90bcedc1-5b31-5723-9c1e-bbe5494a1f53"
ACCOUNT = "7eff5c5d-e1bf-4814-adca-bb20002d4597"
# Two rows of the stored v1 fixture, as the code before the nesting wrote them.
STORED_REFUND = StoredEvent(
    originator_id=WALLET_ID,
    originator_version=3,
    topic="domain.wallet_billing:Refunded",
    state=(
        b'{"timestamp":"2026-12-08T02:38:35.276583Z","account_id":"'
        + ACCOUNT.encode()
        + b'","postings":[["wallet:'
        + ACCOUNT.encode()
        + b'",-5000000],'
        b'["clearing:stripe",5000000]],'
        b'"entry_hash":"e03740d79a9fb00f12e25570a896267c0c5afdd31c4cdc3ff210c5951e59e19d",'
        b'"amount_micros":5000000,"charge_id":"ch_cs_test_0000000915265",'
        b'"refunded_total_micros":5000000}'
    ),
)
PREVIOUS_ENTRY_HASH = "bffd17c6885626bdd7cdfc014c171752f9c5a5d5a33aeebcd745cd711ea71685"
STORED_FLAG = StoredEvent(
    originator_id=WALLET_ID,
    originator_version=6,
    topic="domain.wallet_billing:Flagged",
    state=(
        b'{"timestamp":"2026-12-08T02:38:35.282037Z","account_id":"'
        + ACCOUNT.encode()
        + b'","reason":"refund beyond the credit limit",'
        b'"reference":"ch_cs_test_0000000915265"}'
    ),
)


@pytest.mark.parametrize(("old_topic", "event_class"), MOVED, ids=[t for t, _ in MOVED])
def test_old_topic_resolves_to_the_nested_class(old_topic: str, event_class: type) -> None:
    assert event_class.__qualname__.startswith("Wallet.")
    assert get_topic(event_class) == f"domain.wallet:{event_class.__qualname__}"
    assert resolve_topic(old_topic) is event_class
    assert old_topic in stored_topics(event_class)


def test_a_refund_stored_under_its_old_topic_decodes_and_verifies() -> None:
    event = MsgspecMapper(transcoder=None).to_domain_event(STORED_REFUND)  # type: ignore[arg-type]
    assert type(event) is Wallet.Refunded
    assert isinstance(event, Wallet.MoneyMoved)
    assert event.charge_id == "ch_cs_test_0000000915265"
    assert event.postings == ((f"wallet:{ACCOUNT}", -5_000_000), ("clearing:stripe", 5_000_000))
    assert verify_entry(PREVIOUS_ENTRY_HASH, event)


def test_a_flag_stored_under_its_old_topic_decodes_and_applies() -> None:
    event = MsgspecMapper(transcoder=None).to_domain_event(STORED_FLAG)  # type: ignore[arg-type]
    assert type(event) is Wallet.Flagged
    assert (event.account_id, event.reason) == (ACCOUNT, "refund beyond the credit limit")


def test_reads_by_topic_ask_for_the_old_topics_too() -> None:
    assert stored_topics(Wallet.Opened) == ["domain.wallet:Wallet.Opened"]
    projection_topics = topics_of(WalletTransactions())
    assert "domain.wallet:Wallet.Refunded" in projection_topics
    assert "domain.wallet_billing:Refunded" in projection_topics
