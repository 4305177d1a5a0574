"""Campaign progress: the campaign's lifecycle and its messages per status."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.campaign import Campaign
from domain.messaging.status import MessageStatus
from projections.campaign_progress import CampaignProgress, get_campaign
from tests.support.projections import BASE_TIME, accept, apply, new_account, record

PROGRESS = CampaignProgress()


def _campaign(account):
    campaign = Campaign.create_batch(
        uuid4(), account_id=account, sender="Acme", body="hi", client_ref="spring", sandbox=False
    )
    campaign.add_recipients(4, 1, 140_000)
    campaign.start()
    return campaign


def _progress(conn, account, campaign_id):
    with conn.cursor() as cursor:
        return get_campaign(cursor, account, campaign_id)


@pytest.mark.parametrize("batch_size", [None, 2])
@pytest.mark.parametrize("messages_first", [False, True])
def test_counts_follow_the_campaigns_messages(conn, batch_size, messages_first):
    account = new_account()
    campaign = _campaign(account)
    messages = [accept(account, campaign_id=campaign.id) for _ in range(4)]
    alone = accept(account)  # not in the campaign
    envelopes = record(*messages, alone)
    head = record(campaign, at=BASE_TIME)
    envelopes = envelopes + head if messages_first else head + envelopes
    for message in messages[:3]:
        message.submit("sim", str(uuid4()), capture_on_submit=False)
    messages[0].report_delivery("DELIVRD", MessageStatus.DELIVERED)
    messages[1].report_delivery("UNDELIV", MessageStatus.FAILED)
    alone.submit("sim", "alone", capture_on_submit=False)
    envelopes += record(*messages, alone)
    campaign.complete()
    envelopes += record(campaign, at=BASE_TIME + timedelta(minutes=1))
    apply(conn, PROGRESS, envelopes, batch_size)

    progress = _progress(conn, account, campaign.id)
    assert progress["campaign_id"] == str(campaign.id)
    assert (progress["name"], progress["kind"], progress["client_ref"]) == (
        "spring", "batch", "spring"
    )
    assert progress["status"] == "completed"
    assert (progress["accepted"], progress["rejected"], progress["total_price_micros"]) == (
        4, 1, 140_000
    )
    assert progress["created_at"] == progress["started_at"] == BASE_TIME
    assert progress["completed_at"] == BASE_TIME + timedelta(minutes=1)
    assert progress["messages"] == {
        "scheduled": 0, "queued": 1, "sent": 1, "delivered": 1, "failed": 1,
        "expired": 0, "rejected": 0, "cancelled": 0,
    }
    assert progress["messages_total"] == 4
    # Only the messages still in flight are remembered.
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM rm_campaign_progress_messages WHERE campaign_id = %s",
            (campaign.id,),
        )
        assert cursor.fetchone() == (2,)


def test_failed_campaign_and_lookups(conn):
    account = new_account()
    campaign = Campaign.create_batch(
        uuid4(), account_id=account, sender="Acme", body="hi", client_ref=None, sandbox=True
    )
    campaign.fail("no recipients")
    apply(conn, PROGRESS, record(campaign))
    progress = _progress(conn, account, str(campaign.id))
    assert progress["status"] == "failed" and progress["failure_reason"] == "no recipients"
    assert progress["name"] == "bulk send" and progress["sandbox"] is True
    assert progress["failed_at"] is not None and progress["started_at"] is None
    assert _progress(conn, new_account(), campaign.id) is None
    assert _progress(conn, account, "nope") is None
    assert _progress(conn, account, uuid4()) is None


def test_a_running_batch_is_finished_once_every_message_is_final(conn):
    from projections.campaign_progress import finished_batches

    def finished() -> list:
        with conn.cursor() as cursor:
            return finished_batches(cursor, 10_000)

    account = new_account()
    campaign = Campaign.create_batch(
        uuid4(), account_id=account, sender="Acme", body="hi", client_ref=None, sandbox=False
    )
    campaign.add_recipients(2, 0, 70_000)
    campaign.start()
    messages = [accept(account, campaign_id=campaign.id) for _ in range(2)]
    apply(conn, PROGRESS, record(campaign) + record(*messages))
    assert campaign.id not in finished()
    for message in messages:
        message.submit("sim", str(uuid4()), capture_on_submit=False)
    messages[0].report_delivery("DELIVRD", MessageStatus.DELIVERED)
    apply(conn, PROGRESS, record(*messages))
    assert campaign.id not in finished()  # one is only sent
    messages[1].report_delivery("UNDELIV", MessageStatus.FAILED)
    apply(conn, PROGRESS, record(*messages))
    assert campaign.id in finished()
    campaign.complete()
    apply(conn, PROGRESS, record(campaign))
    assert campaign.id not in finished()
