"""A bulk batch completes once the read model counts every message final,
and only a running batch is completed, once."""

from __future__ import annotations

from uuid import UUID, uuid4

from application.campaigns.batch_completion import BatchCompleter
from application.sending.send import BulkRecipient, SendBulk
from domain.campaign import Campaign
from tests.contract.conftest import Ledger


class Finished:
    """What the read model would answer: here, set by the test."""

    def __init__(self) -> None:
        self.batches: list[UUID] = []

    def finished(self, limit: int) -> list[UUID]:
        return self.batches[:limit]


def _batch(ledger: Ledger) -> UUID:
    account = f"acct-{uuid4()}"
    ledger.open_account(account, credit_micros=5_000_000)
    recipients = [BulkRecipient("+447700900001", {}), BulkRecipient("+447700900002", {})]
    return ledger.messaging.send_bulk(SendBulk(account, recipients, "Acme", "hi")).batch_id


def test_a_finished_batch_completes_once(ledger: Ledger) -> None:
    batch_id = _batch(ledger)
    finished = Finished()
    completer = BatchCompleter(ledger.app, finished)
    assert completer.complete_finished() == 0  # nothing finished yet
    finished.batches = [batch_id]
    assert completer.complete_finished() == 1
    campaign = ledger.app.repository.get(batch_id)
    assert isinstance(campaign, Campaign) and campaign.status == "completed"
    assert completer.complete_finished() == 0  # a lagging read model asks again
    assert ledger.app.repository.get(batch_id).version == campaign.version


def test_a_failed_batch_and_a_missing_one_are_left_alone(ledger: Ledger) -> None:
    failed = _batch(ledger)
    campaign = ledger.app.repository.get(failed)
    campaign.fail("carrier gone")
    ledger.app.record(campaign)
    finished = Finished()
    finished.batches = [failed, uuid4()]
    assert BatchCompleter(ledger.app, finished).complete_finished() == 0
    assert ledger.app.repository.get(failed).status == "failed"
