"""The message log: rows, timelines, lookups and keyset pagination."""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import uuid4

import pytest

from domain.messaging.status import MessageStatus
from projections.message_log import MessageLog, get_message, list_messages
from tests.support.projections import BASE_TIME, accept, apply, new_account, record

LOG = MessageLog()


def _lifecycle(account: str, campaign_id=None):
    message = accept(account, campaign_id=campaign_id, client_ref="order-1")
    envelopes = record(message)
    message.submit("simcarrier", "c-1", capture_on_submit=False)
    envelopes += record(message, at=BASE_TIME + timedelta(seconds=1))
    message.report_delivery("ENROUTE", MessageStatus.SENT)
    envelopes += record(message, at=BASE_TIME + timedelta(seconds=2))
    message.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    envelopes += record(message, at=BASE_TIME + timedelta(seconds=3))
    # A duplicate and a late intermediate report: the domain records nothing.
    message.report_delivery("DELIVRD", MessageStatus.DELIVERED)
    message.report_delivery("ENROUTE", MessageStatus.SENT)
    assert record(message) == []
    return message, envelopes


@pytest.mark.parametrize("batch_size", [None, 1, 2])
def test_full_lifecycle_with_ordered_events(conn, batch_size):
    account = new_account()
    campaign_id = uuid4()
    message, envelopes = _lifecycle(account, campaign_id)
    apply(conn, LOG, envelopes, batch_size)

    with conn.cursor() as cursor:
        row = get_message(cursor, account, message.id)
    assert row is not None
    assert row["message_id"] == str(message.id)
    assert row["campaign_id"] == str(campaign_id)
    assert row["status"] == "delivered"
    assert row["charge"] == "captured"
    assert row["carrier"] == "simcarrier" and row["carrier_message_id"] == "c-1"
    assert row["carrier_status"] == "DELIVRD"
    assert row["price_micros"] == 35_000 and row["segments"] == 1
    assert row["accepted_at"] == BASE_TIME
    assert row["submitted_at"] == BASE_TIME + timedelta(seconds=1)
    assert row["delivered_at"] == row["final_at"] == BASE_TIME + timedelta(seconds=3)
    assert row["updated_at"] == BASE_TIME + timedelta(seconds=3)
    assert row["last_event_id"] == envelopes[-1].id
    assert [(e["id"], e["type"], e["status"], e["carrier_status"]) for e in row["events"]] == [
        (envelopes[0].id, "message.accepted", "queued", ""),
        (envelopes[1].id, "message.submitted_to_carrier", "sent", ""),
        (envelopes[2].id, "message.delivery_reported", "sent", "ENROUTE"),
        (envelopes[3].id, "message.delivery_reported", "delivered", "DELIVRD"),
    ]
    assert row["events"][3]["at"] == (BASE_TIME + timedelta(seconds=3)).isoformat()
    assert set(row["events"][0]) == {"id", "type", "status", "carrier_status", "error_code", "at"}


def test_rejection_and_failure_release_the_charge(conn):
    account = new_account()
    rejected = accept(account)
    failed = accept(account)
    cancelled = accept(account)
    envelopes = record(rejected, failed, cancelled)
    rejected.reject("E_ROUTE", "no route")
    failed.submit("sim", "c-2", capture_on_submit=False)
    failed.report_delivery("UNDELIV", MessageStatus.FAILED, "err:001")
    cancelled.cancel()
    envelopes += record(rejected, failed, cancelled)
    apply(conn, LOG, envelopes)
    with conn.cursor() as cursor:
        one = get_message(cursor, account, rejected.id)
        two = get_message(cursor, account, failed.id)
        three = get_message(cursor, account, str(cancelled.id))
    assert (one["status"], one["charge"], one["error_code"]) == ("rejected", "released", "E_ROUTE")
    assert one["error_reason"] == "no route" and one["final_at"] is not None
    assert (two["status"], two["charge"], two["error_code"]) == ("failed", "released", "err:001")
    assert two["delivered_at"] is None and two["final_at"] is not None
    assert (three["status"], three["charge"]) == ("cancelled", "released")


def test_sandbox_message_holds_nothing(conn):
    account = new_account()
    message = accept(account, sandbox=True)
    apply(conn, LOG, record(message))
    with conn.cursor() as cursor:
        row = get_message(cursor, account, message.id)
    assert (row["sandbox"], row["charge"], row["status"]) == (True, "none", "queued")


def test_another_accounts_message_is_not_found(conn):
    account = new_account()
    message = accept(account)
    apply(conn, LOG, record(message))
    with conn.cursor() as cursor:
        assert get_message(cursor, new_account(), message.id) is None
        assert get_message(cursor, account, "not-a-uuid") is None
        assert get_message(cursor, account, uuid4()) is None


def test_filters_and_total(conn):
    account = new_account()
    campaign_id = uuid4()
    messages = [
        accept(account, destination="+447700900001", at=BASE_TIME),
        accept(account, destination="+447700900002", at=BASE_TIME + timedelta(hours=1),
               campaign_id=campaign_id),
        accept(account, destination="+447700900002", at=BASE_TIME + timedelta(hours=2),
               client_ref="ref-9", campaign_id=campaign_id),
        accept(account, destination="+447700900003", at=BASE_TIME + timedelta(days=2)),
    ]
    envelopes = record(*messages)
    messages[0].submit("sim", "x", capture_on_submit=False)
    envelopes += record(messages[0])
    apply(conn, LOG, envelopes)

    def ids(**filters):
        with conn.cursor() as cursor:
            rows, token, has_more, total = list_messages(cursor, account, **filters)
        assert token is None and has_more is False and total == len(rows)
        return [r["message_id"] for r in rows]

    expected = [str(m.id) for m in reversed(messages)]
    assert ids() == expected
    assert ids(status="sent") == [str(messages[0].id)]
    assert ids(status="queued") == expected[:3]
    assert ids(destination="+447700900002") == expected[1:3]
    assert ids(campaign_id=str(campaign_id)) == expected[1:3]
    assert ids(client_ref="ref-9") == [str(messages[2].id)]
    assert ids(from_date=BASE_TIME + timedelta(hours=1), to_date=BASE_TIME + timedelta(hours=2)) \
        == expected[1:3]
    assert ids(sandbox=True) == []
    with conn.cursor() as cursor:
        rows, *_ = list_messages(cursor, account, page_size=1)
    assert "events" not in rows[0]


def test_page_size_and_cursor_are_checked(conn):
    with conn.cursor() as cursor:
        for bad in (0, 501, -1):
            with pytest.raises(ValueError):
                list_messages(cursor, "a", page_size=bad)
        for token in ("%%%", "bm90IGpzb24", "eyJ4IjoxfQ"):
            with pytest.raises(ValueError):
                list_messages(cursor, "a", cursor_token=token)
        with pytest.raises(ValueError):
            list_messages(cursor, "a", status="lost")
        assert list_messages(cursor, "a", page_size=500)[0] == []


def _page_through(conn, account, page_size, between_pages=None):
    seen, token, pages = [], None, 0
    while True:
        with conn.cursor() as cursor:
            rows, token, has_more, _total = list_messages(
                cursor, account, page_size=page_size, cursor_token=token
            )
        assert len(rows) <= page_size
        seen += [r["message_id"] for r in rows]
        pages += 1
        if not has_more:
            assert token is None
            return seen, pages
        if between_pages:
            between_pages(pages)


def _many(account, count, rng):
    # Many messages share a time, as a bulk send's do: the id breaks the tie.
    return [
        accept(account, at=BASE_TIME + timedelta(seconds=rng.randrange(50)))
        for _ in range(count)
    ]


def test_keyset_pagination_sees_each_message_once(conn):
    account = new_account()
    messages = _many(account, 1000, random.Random(7))
    apply(conn, LOG, record(*messages))
    seen, pages = _page_through(conn, account, 137)
    assert pages == 8
    assert len(seen) == len(set(seen)) == 1000
    assert set(seen) == {str(m.id) for m in messages}
    with conn.cursor() as cursor:
        assert list_messages(cursor, account, page_size=137)[3] == 1000


def test_keyset_pagination_while_messages_arrive(conn):
    account = new_account()
    rng = random.Random(11)
    messages = _many(account, 1000, rng)
    apply(conn, LOG, record(*messages))
    arrived = []

    def insert_more(page):
        # Newer ones (the usual case), ones tied with existing times, and
        # older ones (a delayed event): none may disturb the original rows.
        batch = [
            accept(account, at=BASE_TIME + timedelta(minutes=5, seconds=page)),
            accept(account, at=BASE_TIME + timedelta(seconds=rng.randrange(50))),
            accept(account, at=BASE_TIME - timedelta(minutes=page)),
        ]
        arrived.extend(batch)
        apply(conn, LOG, record(*batch))

    seen, _pages = _page_through(conn, account, 137, insert_more)
    assert len(seen) == len(set(seen))
    assert {str(m.id) for m in messages} <= set(seen)
    assert set(seen) <= {str(m.id) for m in messages + arrived}


@pytest.mark.parametrize("outcome", ["delivered", "rejected", "queued"])
def test_a_fold_without_the_table_is_the_row_the_log_holds(conn, outcome):
    """Reads of messages the log has not reached are folded by the log's own
    rules: the row must be the one the log will hold."""
    from projections.message_log import fold_rows

    account = new_account()
    if outcome == "delivered":
        _, envelopes = _lifecycle(account, uuid4())
    else:
        message = accept(account, client_ref="r")
        envelopes = record(message)
        if outcome == "rejected":
            message.reject("EC", "refused")
            envelopes += record(message, at=BASE_TIME + timedelta(seconds=1))
    apply(conn, LOG, envelopes)
    (folded,) = fold_rows(envelopes)
    with conn.cursor() as cursor:
        stored = get_message(cursor, account, folded["message_id"])
    assert stored is not None and folded == stored
