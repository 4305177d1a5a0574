"""The registry, the DDL, and a rebuild from scratch."""

from __future__ import annotations

import pytest
from psycopg import sql

from domain.messaging.status import MessageStatus
from projections.registry import ALL_PROJECTIONS, by_name
from tests.integration.projections.test_batching import MESSAGE_PROJECTIONS, _dump
from tests.integration.projections.test_campaign_progress import _campaign
from tests.support.projections import accept, apply, new_account, record


def test_every_projection_is_registered_by_name():
    names = [p.name for p in ALL_PROJECTIONS]
    assert names == [
        "message_log", "dlr_stats", "campaign_progress", "wallet_transactions", "usage",
        "inbound",
    ]
    for projection in ALL_PROJECTIONS:
        assert by_name(projection.name) is projection
        assert projection.tables and all(t.startswith("rm_") for t in projection.tables)
        assert projection.event_types
    with pytest.raises(KeyError, match="message_log"):
        by_name("nope")


def test_ddl_is_idempotent(conn):
    for projection in ALL_PROJECTIONS:
        conn.execute(projection.ddl())
        for table in projection.tables:
            assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None


def test_a_rebuild_gives_the_same_tables(conn):
    account = new_account()
    campaign = _campaign(account)
    messages = [accept(account, campaign_id=campaign.id) for _ in range(5)]
    envelopes = record(campaign) + record(*messages)
    for message in messages[:3]:
        message.submit("sim", str(message.id), capture_on_submit=False)
    messages[0].report_delivery("DELIVRD", MessageStatus.DELIVERED)
    messages[3].cancel()
    envelopes += record(*messages)
    projections = MESSAGE_PROJECTIONS
    with conn.transaction(force_rollback=True):
        for projection in projections:
            apply(conn, projection, envelopes, batch_size=2)
        before = _dump(conn, account, campaign.id)
        for projection in projections:
            # What the runner's rebuild does: empty the tables in one statement.
            conn.execute(sql.SQL("TRUNCATE {}").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in projection.tables)
            ))
            apply(conn, projection, envelopes, batch_size=5_000)
        assert _dump(conn, account, campaign.id) == before
