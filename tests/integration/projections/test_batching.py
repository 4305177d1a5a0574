"""However the runner cuts the log into batches, the tables come out the same."""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta
from uuid import uuid4

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.campaign import Campaign
from domain.errors import InvalidTransition
from domain.messaging.status import MessageStatus
from projections import common
from projections.registry import by_name
from tests.support.projections import BASE_TIME, accept, apply, new_account, record

MESSAGE_PROJECTIONS = [
    by_name(name) for name in ("message_log", "dlr_stats", "campaign_progress", "usage")
]

ACTIONS = {
    "submit": lambda m: m.submit("sim", f"c-{m.id}", capture_on_submit=False),
    "submit_capture": lambda m: m.submit("nodlr", f"c-{m.id}", capture_on_submit=True),
    "enroute": lambda m: m.report_delivery("ENROUTE", MessageStatus.SENT),
    "accepted": lambda m: m.report_delivery("ACCEPTD", MessageStatus.SENT),
    "delivered": lambda m: m.report_delivery("DELIVRD", MessageStatus.DELIVERED),
    "failed": lambda m: m.report_delivery("UNDELIV", MessageStatus.FAILED, "err:1"),
    "reject": lambda m: m.reject("E1", "barred"),
    "expire": lambda m: m.expire(),
    "expire_capture": lambda m: m.expire(capture_held=True),
    "cancel": lambda m: m.cancel(),
}
# From no gap (ties) to gaps that cross days and months.
GAPS = [timedelta(0), timedelta(milliseconds=7), timedelta(seconds=3), timedelta(hours=5),
        timedelta(days=1), timedelta(days=17)]

message_specs = st.tuples(
    st.booleans(),  # in the campaign
    st.booleans(),  # sandbox
    st.sampled_from(["GB", "FR", "GH"]),
    st.sampled_from([0, 35_000, 120_000]),
    st.integers(1, 4),  # segments
)


@st.composite
def histories(draw):
    specs = draw(st.lists(message_specs, min_size=1, max_size=6))
    steps = draw(st.lists(
        st.tuples(st.integers(0, len(specs) - 1), st.sampled_from(sorted(ACTIONS))),
        max_size=30,
    ))
    complete = draw(st.booleans())
    account = new_account()
    campaign = Campaign.create_batch(
        uuid4(), account_id=account, sender="Acme", body="hi", client_ref=None, sandbox=False
    )
    campaign.add_recipients(len(specs), 0, 0)
    campaign.start()
    envelopes = record(campaign)
    messages = {}

    def message(index):
        if index not in messages:
            in_campaign, sandbox, country, price, segments = specs[index]
            messages[index] = accept(
                account, campaign_id=campaign.id if in_campaign else None, sandbox=sandbox,
                country=country, price_micros=price, segments=segments,
            )
            envelopes.extend(record(messages[index]))
        return messages[index]

    for index, action in steps:
        target = message(index)
        try:
            ACTIONS[action](target)
        except InvalidTransition:
            continue
        envelopes.extend(record(target))
    for index in range(len(specs)):
        message(index)
    if complete:
        campaign.complete()
        envelopes.extend(record(campaign))
    gaps = draw(st.lists(st.sampled_from(GAPS), min_size=len(envelopes), max_size=len(envelopes)))
    at, timed = BASE_TIME, []
    for envelope, gap in zip(envelopes, gaps, strict=True):
        at += gap
        timed.append(msgspec.structs.replace(envelope, occurred_at=at))
    cuts = draw(st.sets(st.integers(1, max(len(timed) - 1, 1)), max_size=8))
    return account, campaign.id, timed, sorted(cuts)


def _dump(conn, account, campaign_id):
    tables = {}
    with conn.cursor() as cursor:
        for projection in MESSAGE_PROJECTIONS:
            for table in projection.tables:
                if table == "rm_campaign_progress_messages":
                    cursor.execute(
                        "SELECT * FROM rm_campaign_progress_messages WHERE campaign_id = %s",
                        (campaign_id,),
                    )
                else:
                    cursor.execute(
                        f"SELECT * FROM {table} WHERE account_id = %s", (account,)
                    )
                tables[table] = sorted(map(repr, cursor.fetchall()))
    return tables


def _applied(conn, account, campaign_id, chunks):
    with conn.transaction(force_rollback=True):
        for chunk in chunks:
            for projection in MESSAGE_PROJECTIONS:
                apply(conn, projection, chunk)
        return _dump(conn, account, campaign_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_one_batch_or_many_give_identical_tables(conn, history):
    account, campaign_id, envelopes, cuts = history
    bounds = [0, *cuts, len(envelopes)]
    chunks = [envelopes[a:b] for a, b in itertools.pairwise(bounds) if a < b]
    whole = _applied(conn, account, campaign_id, [envelopes])
    assert whole["rm_message_log"]  # every message has its row
    assert _applied(conn, account, campaign_id, chunks) == whole
    assert _applied(conn, account, campaign_id, [[e] for e in envelopes]) == whole


@contextlib.contextmanager
def _copy_from(rows: int):
    saved = common.COPY_MIN_ROWS
    common.COPY_MIN_ROWS = rows
    try:
        yield
    finally:
        common.COPY_MIN_ROWS = saved


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_the_copy_path_writes_what_the_array_path_writes(conn, history):
    account, campaign_id, envelopes, _ = history
    with _copy_from(10**9):
        through_arrays = _applied(conn, account, campaign_id, [envelopes])
    with _copy_from(1):
        through_copy = _applied(conn, account, campaign_id, [envelopes])
        # Twice in one transaction: the staging table starts empty each time.
        twice = _applied(conn, account, campaign_id, [envelopes[: len(envelopes) // 2],
                                                     envelopes[len(envelopes) // 2:]])
    assert through_copy == through_arrays
    assert twice == through_arrays
