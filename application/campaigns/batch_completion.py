"""Bulk batches complete once every message in them is final.

A bulk's Campaign starts in the command that accepts it, and nothing in the
batch's own life says when its last message settles: that happens across
many settlements, in many dispatcher batches, perhaps in several processes.
Counting in the Campaign aggregate would make every settlement write to the
same campaign stream and collide. The campaign-progress read model already
counts each batch's messages per status exactly once (its position moves in
the same transaction as its counts), so the completer asks it which running
batches have every message final, and records Completed on each.

A lagging read model only delays a completion; it cannot bring one early,
because counts of final messages only grow and never exceed what was
accepted. The aggregate has the last word: a batch that is no longer
running (failed, already completed) is left as it is.
"""

from __future__ import annotations

import logging
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.ledger.app import LedgerApplication
from domain.campaign import Campaign, CampaignKind, CampaignStatus

log = logging.getLogger(__name__)

MAX_BATCHES_PER_PASS = 100


class FinishedBatches(Protocol):
    def finished(self, limit: int) -> list[UUID]:
        """Running bulk batches whose every accepted message is final, as
        far as the read model has seen; at most `limit`, oldest first."""
        ...


class BatchCompleter:
    def __init__(self, app: LedgerApplication, finished: FinishedBatches) -> None:
        self._app = app
        self._finished = finished

    def complete_finished(self, limit: int = MAX_BATCHES_PER_PASS) -> int:
        """Complete the batches that are done; how many were completed."""
        assert 1 <= limit <= MAX_BATCHES_PER_PASS
        completed = 0
        for batch_id in self._finished.finished(limit):
            campaign = self._running_batch(batch_id)
            if campaign is None:
                continue
            campaign.complete()
            try:
                self._app.record(campaign)
            except IntegrityError:
                continue  # another completer, or a failure, recorded first
            completed += 1
        return completed

    def _running_batch(self, batch_id: UUID) -> Campaign | None:
        campaign: object
        try:
            campaign = self._app.repository.get(batch_id)
        except AggregateNotFoundError:
            log.error("batch %s is in the read model but not in the store", batch_id)
            return None
        if not isinstance(campaign, Campaign) or campaign.kind != CampaignKind.BATCH:
            return None
        return campaign if campaign.status == CampaignStatus.RUNNING else None
