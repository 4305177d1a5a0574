"""Campaign progress for full campaigns: review states, chunks, pause time
left out of the sending time, and reasons."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.campaign import Campaign
from projections.campaign_progress import CampaignProgress, get_campaign
from tests.support.projections import BASE_TIME, accept, apply, new_account, record

PROGRESS = CampaignProgress()


@pytest.mark.parametrize("batch_size", [None, 1])
def test_a_campaign_through_review_pause_and_completion(conn, batch_size):
    account = new_account()
    campaign = Campaign.create_campaign(
        uuid4(), account_id=account, name="Spring", sender="Shop", body="Hi",
        client_ref=None, sandbox=False, scheduled_at=BASE_TIME + timedelta(hours=1),
        unicode=False)
    campaign.list_recipients(4, 1, 0)
    envelopes = record(campaign, at=BASE_TIME)
    campaign.submit(4, 4)
    campaign.approve("op")
    envelopes += record(campaign, at=BASE_TIME + timedelta(minutes=1))
    campaign.start()
    envelopes += record(campaign, at=BASE_TIME + timedelta(minutes=10))
    campaign.send_chunk(to_seq=2, accepted=1, rejected=1, opted_out=1,
                        total_price_micros=34_800, reservation_id="r1")
    messages = [accept(account, campaign_id=campaign.id)]
    envelopes += record(*messages)
    campaign.pause("insufficient_balance", "executor")
    envelopes += record(campaign, at=BASE_TIME + timedelta(minutes=11))
    campaign.resume("me")
    envelopes += record(campaign, at=BASE_TIME + timedelta(minutes=30))
    apply(conn, PROGRESS, envelopes, batch_size)
    with conn.cursor() as cursor:
        row = get_campaign(cursor, account, campaign.id)
    assert (row["status"], row["recipients"], row["listed"]) == ("sending", 4, 4)
    assert (row["accepted"], row["rejected"], row["opted_out"]) == (1, 1, 1)
    assert row["scheduled_at"] == BASE_TIME + timedelta(hours=1)
    assert row["sending_seconds"] == 60.0  # the paused 19 minutes do not count
    assert row["sending_since"] == BASE_TIME + timedelta(minutes=30)
    assert row["paused_at"] == BASE_TIME + timedelta(minutes=11)
    assert row["messages"]["queued"] == 1

    campaign.send_chunk(to_seq=4, accepted=2, rejected=0, opted_out=0,
                        total_price_micros=69_600, reservation_id="r2")
    campaign.complete()
    apply(conn, PROGRESS, record(campaign, at=BASE_TIME + timedelta(minutes=31)), batch_size)
    with conn.cursor() as cursor:
        row = get_campaign(cursor, account, campaign.id)
    assert (row["status"], row["accepted"], row["total_price_micros"]) == (
        "completed", 3, 104_400)
    assert row["sending_seconds"] == 120.0 and row["sending_since"] is None


def test_rejection_and_cancel_keep_their_reason(conn):
    account = new_account()
    rejected = Campaign.create_campaign(
        uuid4(), account_id=account, name="A", sender="Shop", body="Hi", client_ref=None,
        sandbox=False, scheduled_at=None, unicode=False)
    rejected.submit(1, 1)
    rejected.reject("op", "Misleading offer")
    cancelled = Campaign.create_campaign(
        uuid4(), account_id=account, name="B", sender="Shop", body="Hi", client_ref=None,
        sandbox=False, scheduled_at=None, unicode=False)
    cancelled.cancel("me")
    apply(conn, PROGRESS, record(rejected, cancelled))
    with conn.cursor() as cursor:
        first = get_campaign(cursor, account, rejected.id)
        second = get_campaign(cursor, account, cancelled.id)
    assert (first["status"], first["reason"]) == ("rejected", "Misleading offer")
    assert (second["status"], second["reason"]) == ("cancelled", "requested")
