"""Delivery statistics: buckets that follow each message, rates and latency."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

from domain.messaging.status import MessageStatus
from projections.dlr_stats import DlrStats, delivery_rate, dlr_stats
from tests.support.projections import BASE_TIME, accept, apply, new_account, record

STATS = DlrStats()


def _stats(conn, account, **filters):
    with conn.cursor() as cursor:
        return dlr_stats(cursor, account, **filters)


def _nonzero(totals):
    return {status: n for status, n in totals.items() if n}


def test_buckets_move_through_queued_sent_delivered(conn):
    account = new_account()
    message = accept(account)
    apply(conn, STATS, record(message))
    assert _nonzero(_stats(conn, account)["totals"]) == {"queued": 1}

    message.submit("sim", "c-1", capture_on_submit=False)
    apply(conn, STATS, record(message, at=BASE_TIME + timedelta(seconds=2)))
    assert _nonzero(_stats(conn, account)["totals"]) == {"sent": 1}

    message.report_delivery("ENROUTE", MessageStatus.SENT)  # stays in "sent"
    message.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    apply(conn, STATS, record(message, at=BASE_TIME + timedelta(seconds=5)))
    # A duplicate and a late intermediate DLR: the domain emits nothing.
    message.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    message.report_delivery("ACCEPTD", MessageStatus.SENT)
    assert record(message) == []

    stats = _stats(conn, account)
    assert _nonzero(stats["totals"]) == {"delivered": 1}
    assert stats["total"] == 1
    assert stats["delivery_rate"] == "1.0000"
    assert stats["median_delivery_ms"] == 3000
    # Emptied buckets are gone, not left at zero.
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT status, messages FROM rm_dlr_stats WHERE account_id = %s", (account,)
        )
        assert cursor.fetchall() == [("delivered", 1)]


def _scenario(account, campaign_id):
    """GB on day 1: 3 delivered (1 s, 2 s, 4 s), 1 failed, 1 rejected, 1
    cancelled; FR on day 2: 1 delivered (10 s), 1 expired, 1 queued."""
    day2 = BASE_TIME + timedelta(days=1)
    envelopes = []

    def delivered(at, latency_s, country, campaign=None):
        message = accept(account, country=country, at=at, campaign_id=campaign)
        message.submit("sim", str(uuid4()), capture_on_submit=False)
        envelopes.extend(record(message, at=at))
        message.report_delivery("DELIVRD", MessageStatus.DELIVERED)
        envelopes.extend(record(message, at=at + timedelta(seconds=latency_s)))

    for latency_s in (1, 2, 4):
        delivered(BASE_TIME, latency_s, "GB", campaign_id)
    delivered(day2, 10, "FR")
    failed, rejected, cancelled = (accept(account, at=BASE_TIME) for _ in range(3))
    failed.submit("sim", "f", capture_on_submit=False)
    failed.report_delivery("UNDELIV", MessageStatus.FAILED)
    rejected.reject("E1", "barred")
    cancelled.cancel()
    expired = accept(account, country="FR", at=day2)
    expired.expire()
    queued = accept(account, country="FR", at=day2)
    envelopes += record(failed, rejected, cancelled, at=BASE_TIME)
    envelopes += record(expired, queued, at=day2)
    return envelopes


def test_counts_rate_median_and_breakdown(conn):
    account = new_account()
    campaign_id = uuid4()
    apply(conn, STATS, _scenario(account, campaign_id), batch_size=3)
    stats = _stats(conn, account)
    assert _nonzero(stats["totals"]) == {
        "delivered": 4, "failed": 1, "rejected": 1, "cancelled": 1, "expired": 1, "queued": 1,
    }
    assert stats["total"] == 9
    assert stats["delivery_rate"] == "0.5714"  # 4 / (4 + 1 + 1 + 1)
    assert stats["median_delivery_ms"] == 3000  # of 1, 2, 4 and 10 seconds
    cells = {(c["day"], c["country"]): c for c in stats["breakdown"]}
    assert set(cells) == {(date(2025, 3, 14), "GB"), (date(2025, 3, 15), "FR")}
    gb = cells[(date(2025, 3, 14), "GB")]
    assert _nonzero(gb["counts"]) == {"delivered": 3, "failed": 1, "rejected": 1, "cancelled": 1}
    assert gb["total"] == 6 and gb["delivery_rate"] == "0.6000"
    assert cells[(date(2025, 3, 15), "FR")]["delivery_rate"] == "0.5000"

    fr = _stats(conn, account, country="FR")
    assert fr["total"] == 3 and fr["median_delivery_ms"] == 10_000
    day1 = _stats(conn, account, from_date=date(2025, 3, 14), to_date=BASE_TIME)
    assert day1["total"] == 6 and day1["median_delivery_ms"] == 2000
    assert _stats(conn, account, from_date=date(2025, 3, 16))["total"] == 0
    campaign = _stats(conn, account, campaign_id=str(campaign_id))
    assert _nonzero(campaign["totals"]) == {"delivered": 3}
    assert campaign["median_delivery_ms"] == 2000


def test_no_finals_means_no_rate_and_sandbox_is_apart(conn):
    account = new_account()
    live = accept(account)
    sandbox = accept(account, sandbox=True)
    sandbox.submit("sandbox", "s", capture_on_submit=False)
    sandbox.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    apply(conn, STATS, record(live, sandbox))
    stats = _stats(conn, account)
    assert stats["delivery_rate"] is None and stats["median_delivery_ms"] is None
    assert _nonzero(stats["totals"]) == {"queued": 1}
    assert _nonzero(_stats(conn, account, sandbox=True)["totals"]) == {"delivered": 1}
    empty = _stats(conn, new_account())
    assert empty["total"] == 0 and empty["breakdown"] == [] and empty["delivery_rate"] is None


def test_delivery_rate_rounds_to_four_places():
    counts = dict.fromkeys(("delivered", "failed", "expired", "rejected"), 0)
    assert delivery_rate(counts) is None
    assert delivery_rate({**counts, "delivered": 2, "failed": 1}) == "0.6667"
    assert delivery_rate({**counts, "delivered": 1}) == "1.0000"
