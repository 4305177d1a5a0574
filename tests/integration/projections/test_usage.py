"""Usage per month and country: counted on acceptance, costed on capture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.messaging.status import MessageStatus
from projections.usage import Usage, usage
from tests.support.projections import accept, apply, new_account, record

USAGE = Usage()
APRIL = datetime(2025, 4, 1, 0, 0, 1, tzinfo=UTC)


def _usage(conn, account, month=None):
    with conn.cursor() as cursor:
        return usage(cursor, account, month)


@pytest.mark.parametrize("batch_size", [None, 1, 4])
def test_usage_per_month_and_country(conn, batch_size):
    account = new_account()
    delivered = accept(account, price_micros=35_000, segments=1)
    failed = accept(account, price_micros=70_000, segments=2)
    french = accept(account, country="FR", price_micros=50_000, segments=1)
    april = accept(account, price_micros=35_000, segments=3, at=APRIL)
    # Late in March by UTC, already April in other zones: it is March usage.
    late = accept(account, at=datetime(2025, 3, 31, 23, 59, tzinfo=UTC))
    sandbox = accept(account, sandbox=True, segments=4)
    envelopes = record(delivered, failed, french, april, late, sandbox)
    for message in (delivered, failed, april, sandbox):
        message.submit("sim", str(message.id), capture_on_submit=False)
    french.submit("nodlr", "fr-1", capture_on_submit=True)  # captured on submit
    delivered.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    failed.report_delivery("UNDELIV", MessageStatus.FAILED)  # released: no cost
    sandbox.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    april.expire(capture_held=True)  # a silent carrier's route captures
    envelopes += record(delivered, failed, french, april, sandbox, at=APRIL + timedelta(days=3))
    apply(conn, USAGE, envelopes, batch_size)

    march = _usage(conn, account, "2025-03")
    assert march["month"] == "2025-03"
    assert march["by_country"] == [
        {"country": "FR", "messages": 1, "segments": 1, "cost_micros": 50_000},
        {"country": "GB", "messages": 3, "segments": 4, "cost_micros": 35_000},
    ]
    assert (march["messages"], march["segments"], march["cost_micros"]) == (4, 5, 85_000)
    assert _usage(conn, account, "2025-04")["by_country"] == [
        {"country": "GB", "messages": 1, "segments": 3, "cost_micros": 35_000},
    ]
    assert _usage(conn, account, "2025-05")["by_country"] == []
    # Only the message still held (`late`) is remembered for its capture.
    with conn.cursor() as cursor:
        cursor.execute("SELECT message_id FROM rm_usage_pending WHERE account_id = %s", (account,))
        assert cursor.fetchall() == [(late.id,)]


def test_current_month_by_default_and_month_checked(conn):
    account = new_account()
    now = datetime.now(UTC)
    message = accept(account, at=now, price_micros=20_000)
    message.submit("sim", "x", capture_on_submit=True)
    apply(conn, USAGE, record(message))
    current = _usage(conn, account)
    assert current["month"] == now.strftime("%Y-%m")
    assert (current["messages"], current["cost_micros"]) == (1, 20_000)
    with conn.cursor() as cursor:
        for bad in ("2025-13", "March", "2025-3x"):
            with pytest.raises(ValueError):
                usage(cursor, account, bad)


def test_month_boundary_uses_utc(conn):
    account = new_account()
    # 00:30 on 1 April in UTC+2 is 22:30 on 31 March in UTC.
    zoned = datetime(2025, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    apply(conn, USAGE, record(accept(account, at=zoned)))
    assert _usage(conn, account, "2025-03")["messages"] == 1
    assert _usage(conn, account, "2025-04")["messages"] == 0
