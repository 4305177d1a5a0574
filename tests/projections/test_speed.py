"""A rebuild applies 5,000 envelopes per call: each projection must keep up."""

from __future__ import annotations

import random
import time
from uuid import uuid4

from domain.message_status import MessageStatus
from domain.settlement import SettlementItem
from domain.wallet import TopUpSource, Wallet
from projections.registry import ALL_PROJECTIONS, by_name
from tests.projections.support import accept, apply, new_account, record

BATCH = 5_000
LIMIT_S = 2.5  # per projection and batch; measured far below this


def _mixed_batch(account, rng):
    """2,000 acceptances (half in a campaign) and 3,000 transitions of them."""
    campaign_id = uuid4()
    messages = [
        accept(account, campaign_id=campaign_id if i % 2 else None,
               country=rng.choice(("GB", "FR", "DE", "GH")))
        for i in range(2_000)
    ]
    envelopes = record(*messages)
    for i, message in enumerate(messages[:1_600]):
        message.submit("sim", f"c-{i}", capture_on_submit=False)
    for message in messages[:1_000]:
        message.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    for message in messages[1_000:1_200]:
        message.report_delivery("UNDELIV", MessageStatus.FAILED, "err:1")
    for message in messages[1_600:1_800]:
        message.reject("E1", "barred")
    envelopes += record(*messages)
    assert len(envelopes) == BATCH
    return envelopes, messages


def _transitions_batch(messages):
    """5,000 transitions of messages accepted in an earlier batch."""
    for i, message in enumerate(messages):
        message.submit("sim", f"d-{i}", capture_on_submit=False)
        message.report_delivery(
            "DELIVRD" if i % 10 else "UNDELIV",
            MessageStatus.DELIVERED if i % 10 else MessageStatus.FAILED,
        )
    envelopes = record(*messages)
    assert len(envelopes) == BATCH
    return envelopes


def _timed(conn, projection, envelopes):
    relevant = [e for e in envelopes if e.type in projection.event_types]
    started = time.perf_counter()
    apply(conn, projection, relevant)
    elapsed = time.perf_counter() - started
    print(
        f"{projection.name:>20}: {len(relevant):>5} envelopes in {elapsed * 1000:7.1f} ms"
        f" = {len(relevant) / elapsed:9.0f} envelopes/s"
    )
    assert elapsed < LIMIT_S
    return elapsed


def test_a_batch_of_5000_message_envelopes_is_fast(conn):
    rng = random.Random(3)
    account = new_account()
    mixed, _ = _mixed_batch(account, rng)
    earlier = [accept(account, country=rng.choice(("GB", "FR"))) for _ in range(2_500)]
    accepted = record(*earlier)
    moved = _transitions_batch(earlier)
    print("\nmixed batch: 2,000 accepted + 3,000 transitions of them")
    total = sum(
        _timed(conn, p, mixed) for p in ALL_PROJECTIONS if p.name != "wallet_transactions"
    )
    print(f"{'all four together':>20}: {BATCH / total:9.0f} envelopes/s")
    for projection in ALL_PROJECTIONS:
        apply(conn, projection, accepted)
    print("transitions of messages accepted in an earlier batch")
    for projection in ALL_PROJECTIONS:
        if projection.name != "wallet_transactions":
            _timed(conn, projection, moved)


def test_a_batch_of_5000_wallet_envelopes_is_fast(conn):
    account = new_account()
    wallet = Wallet.open(uuid4(), account, "GBP")
    wallet.top_up(10**12, TopUpSource.STRIPE, "cs")
    for i in range(3_332):
        wallet.reserve(f"r-{i}", 1_000, f"message:{i}")
    items = [SettlementItem(f"r-{i}", uuid4(), 1_000 * (i % 2), 1_000 * (1 - i % 2))
             for i in range(3_332)]
    for start in range(0, 3_332, 2):
        wallet.settle(items[start:start + 2])
    envelopes = record(wallet)[:BATCH]
    print()
    _timed(conn, by_name("wallet_transactions"), envelopes)
