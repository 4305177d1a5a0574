"""A rebuild applies 5,000 envelopes per call, and large batches take the COPY
path: the read models come out right. (Their speed is the rebuild
benchmark's business, not a timed test's.)"""

from __future__ import annotations

import random
from uuid import uuid4

from domain.messaging.status import MessageStatus
from domain.settlement import SettlementItem
from domain.wallet import TopUpSource, Wallet
from projections.registry import ALL_PROJECTIONS, by_name
from tests.support.projections import accept, apply, new_account, record

BATCH = 5_000


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


def _applied(conn, projection, envelopes):
    apply(conn, projection, [e for e in envelopes if e.type in projection.event_types])


def _statuses(conn, account):
    rows = conn.execute(
        "SELECT status, count(*) FROM rm_message_log WHERE account_id = %s GROUP BY status",
        (account,),
    ).fetchall()
    return dict(rows)


def test_batches_of_5000_message_envelopes_give_the_right_tables(conn):
    rng = random.Random(3)
    account = new_account()
    mixed, _ = _mixed_batch(account, rng)
    for projection in ALL_PROJECTIONS:
        if projection.name != "wallet_transactions":
            _applied(conn, projection, mixed)
    assert _statuses(conn, account) == {
        "delivered": 1_000, "failed": 200, "rejected": 200, "sent": 400, "queued": 200,
    }
    earlier = [accept(account, country=rng.choice(("GB", "FR"))) for _ in range(2_500)]
    accepted = record(*earlier)
    moved = _transitions_batch(earlier)
    for projection in ALL_PROJECTIONS:
        _applied(conn, projection, accepted)
    for projection in ALL_PROJECTIONS:
        if projection.name != "wallet_transactions":
            _applied(conn, projection, moved)
    assert _statuses(conn, account) == {
        "delivered": 1_000 + 2_250, "failed": 200 + 250, "rejected": 200, "sent": 400,
        "queued": 200,
    }
    delivered_events = conn.execute(
        "SELECT sum(jsonb_array_length(events)) FROM rm_message_log"
        " WHERE account_id = %s AND status = 'delivered'", (account,),
    ).fetchone()[0]
    assert delivered_events == 1_000 * 3 + 2_250 * 3  # accepted, submitted, delivered


def test_a_batch_of_5000_wallet_envelopes_gives_every_line(conn):
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
    _applied(conn, by_name("wallet_transactions"), envelopes)
    lines = conn.execute(
        "SELECT count(*) FROM rm_wallet_transactions WHERE account_id = %s", (account,),
    ).fetchone()[0]
    assert lines >= len(envelopes)
