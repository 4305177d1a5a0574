"""Campaigns through the application services on the real database: review,
chunked sending, pause and resume, running out of money, cancel, trust."""

from __future__ import annotations

from uuid import UUID

import pytest

from adapters.bootstrap.container import Container
from application.campaigns.commands import CreateCampaign
from application.contacts.ports import Audience
from application.contacts.service import NewContact
from application.sending.send import BulkRecipient
from domain.campaign import Campaign
from domain.errors import InvalidTransition
from domain.inbound import OptAction
from domain.wallet import TopUpSource
from tests.support.campaign_accounts import (
    GB_PRICE_MICROS,
    Account,
    accepted_messages,
    new_account,
    numbers,
    sent_once,
)

OPERATOR = "operator-1"


def draft(container: Container, account: Account, **options: object) -> Campaign:
    return container.crm.campaigns.create(CreateCampaign(
        account_id=account.account_id, sandbox=False, name="Spring sale", sender="MyShop",
        body="Hi {{name}}, 30% off", **options))  # type: ignore[arg-type]


def fill(container: Container, account: Account, campaign: Campaign, phones: list[str]) -> None:
    for start in range(0, len(phones), 10_000):
        container.crm.campaigns.add_recipients(
            account.account_id, False, campaign.id,
            [BulkRecipient(p, {"name": f"n{p[-4:]}"}) for p in phones[start:start + 10_000]],
            Audience(),
        )


def run_executor(container: Container, turns: int = 1000) -> int:
    chunks = 0
    for _ in range(turns):
        done = container.crm.executor.run_once()
        if not done and not container.crm.runs.pending():
            return chunks
        chunks += done
    raise AssertionError("the executor never finished")


def status(container: Container, account: Account, campaign_id: UUID) -> Campaign:
    return container.crm.campaigns.get(account.account_id, False, campaign_id)


def test_review_then_chunks_send_every_recipient_once(container: Container) -> None:
    account = new_account(container)
    campaign = draft(container, account)
    phones = numbers(2_500)
    fill(container, account, campaign, phones)
    added = container.crm.campaigns.add_recipients(
        account.account_id, False, campaign.id, [BulkRecipient(phones[0]),
                                                 BulkRecipient("not a number")], Audience())
    assert (added.added, added.duplicates, added.invalid) == (0, 1, 1)
    submitted = container.crm.campaigns.submit(account.account_id, False, campaign.id, "me")
    assert submitted.status == "pending_approval"
    assert run_executor(container) == 0  # nothing runs before approval
    container.crm.campaigns.approve(campaign.id, OPERATOR)
    assert run_executor(container) == 3
    done = status(container, account, campaign.id)
    assert (done.status, done.accepted, done.rejected, done.chunks) == ("completed", 2500, 0, 3)
    assert done.total_price_micros == 2500 * GB_PRICE_MICROS
    sent_once(container, campaign.id, phones)
    balance = container.wallets.balance(account.wallet_id)
    assert balance.reserved_micros == 2500 * GB_PRICE_MICROS


def test_pause_stops_new_chunks_and_resume_continues(container: Container) -> None:
    account = new_account(container)
    campaign = draft(container, account)
    phones = numbers(3_000, start=10_000)
    fill(container, account, campaign, phones)
    container.crm.campaigns.submit(account.account_id, False, campaign.id, "me")
    container.crm.campaigns.approve(campaign.id, OPERATOR)
    assert container.crm.executor.run_once(chunks_per_turn=1) == 1
    container.crm.campaigns.pause(account.account_id, False, campaign.id, "me")
    assert run_executor(container) == 0
    assert len(accepted_messages(container, campaign.id)) == 1000
    with pytest.raises(InvalidTransition) as refused:
        container.crm.campaigns.pause(account.account_id, False, campaign.id, "me")
    assert refused.value.details["status"] == "paused"
    container.crm.campaigns.resume(account.account_id, False, campaign.id, "me")
    assert run_executor(container) == 2
    sent_once(container, campaign.id, phones)
    assert status(container, account, campaign.id).status == "completed"


def test_running_out_of_balance_pauses_then_top_up_and_resume(container: Container) -> None:
    # Enough for one chunk of 1,000 and a half, not two.
    account = new_account(container, top_up_micros=1500 * GB_PRICE_MICROS)
    campaign = draft(container, account)
    phones = numbers(2_200, start=20_000)
    fill(container, account, campaign, phones)
    container.crm.campaigns.submit(account.account_id, False, campaign.id, "me")
    container.crm.campaigns.approve(campaign.id, OPERATOR)
    assert run_executor(container) == 1
    paused = status(container, account, campaign.id)
    assert (paused.status, paused.reason, paused.cursor) == ("paused", "insufficient_balance",
                                                             1000)
    container.wallets.top_up(account.wallet_id, 2000 * GB_PRICE_MICROS, TopUpSource.STRIPE,
                             "pi_more")
    container.crm.campaigns.resume(account.account_id, False, campaign.id, "me")
    assert run_executor(container) == 2
    sent_once(container, campaign.id, phones)
    assert status(container, account, campaign.id).accepted == 2200


def test_cancel_releases_what_unsubmitted_messages_hold(container: Container) -> None:
    account = new_account(container)
    campaign = draft(container, account)
    phones = numbers(2_000, start=30_000)
    fill(container, account, campaign, phones)
    container.crm.campaigns.submit(account.account_id, False, campaign.id, "me")
    container.crm.campaigns.approve(campaign.id, OPERATOR)
    container.crm.executor.run_once(chunks_per_turn=1)
    held = container.wallets.balance(account.wallet_id).reserved_micros
    assert held == 1000 * GB_PRICE_MICROS
    container.crm.campaigns.cancel(account.account_id, False, campaign.id, "me")
    run_executor(container)
    assert container.wallets.balance(account.wallet_id).reserved_micros == 0
    assert len(accepted_messages(container, campaign.id)) == 1000
    assert status(container, account, campaign.id).status == "cancelled"


def test_trusted_accounts_skip_review_and_groups_respect_opt_outs(container: Container) -> None:
    account = new_account(container)
    container.crm.trusted.set_trusted(account.account_id, True)
    group = container.crm.contacts.create_group(account.account_id, "VIP")
    members = numbers(5, start=40_000)
    for index, phone in enumerate(members):
        container.crm.contacts.create(NewContact(
            account.account_id, phone, first_name=f"Ann{index}", group_id=UUID(group["id"])))
    container.opt_outs.record(account.account_id, members[0], OptAction.OPT_OUT,
                              source="test", keyword="STOP")
    campaign = draft(container, account)
    added = container.crm.campaigns.add_recipients(
        account.account_id, False, campaign.id, [BulkRecipient(members[1], {"name": "X"})],
        Audience(group_ids=[UUID(group["id"])]))
    assert (added.added, added.duplicates) == (5, 1)
    submitted = container.crm.campaigns.submit(account.account_id, False, campaign.id, "me")
    assert submitted.status == "approved"
    run_executor(container)
    done = status(container, account, campaign.id)
    assert (done.accepted, done.rejected, done.opted_out) == (4, 1, 1)
    sent_once(container, campaign.id, members[1:])
    bodies = {e.destination: e.body for e in accepted_messages(container, campaign.id)}
    assert bodies[members[1]] == "Hi X, 30% off"
    assert bodies[members[2]] == "Hi Ann2, 30% off"


def test_an_approved_campaign_starts_at_its_schedule(container: Container) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    account = new_account(container)
    campaign = draft(container, account,
                     scheduled_at=datetime.now(UTC) + timedelta(seconds=2))
    fill(container, account, campaign, numbers(5, start=60_000))
    container.crm.campaigns.submit(account.account_id, False, campaign.id, "me")
    container.crm.campaigns.approve(campaign.id, OPERATOR)
    assert container.crm.executor.run_once() == 0
    assert status(container, account, campaign.id).status == "approved"
    time.sleep(2.5)
    assert run_executor(container) == 1
    assert status(container, account, campaign.id).status == "completed"
