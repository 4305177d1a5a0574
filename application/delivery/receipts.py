"""Delivery receipts in, outcomes out; and settlement of silent carriers.

Receipts are settled in batches by the dispatcher: those of SMPP carriers as
its binds read them, those HTTP carriers post to the API once the API has
stored them (`receive`), so that an answered receipt survives the API
process and a burst of them is one settlement per wallet per batch.

A receipt can arrive before we have recorded the submission it answers (the
carrier's receipt overtakes our own save). Such a receipt is parked and
retried for a while instead of being dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from application.delivery.carriers import DeliveryReceipt
from application.delivery.outcomes import Outcome, OutcomeKind, OutcomeService
from application.delivery.ports import Clock, ReceiptIndex
from domain.messaging.receipts import status_for_carrier_state
from domain.messaging.status import FINAL_STATUSES

log = logging.getLogger(__name__)

PARK_FOR_S = 600.0  # how long an unmatched receipt is retried
SWEEP_BATCH = 500
RECEIVED_BATCH = 2000  # stored receipts settled together


@dataclass(frozen=True, slots=True)
class ReceiptsApplied:
    applied: int
    parked: int


class ReceiptProcessor:
    def __init__(self, outcomes: OutcomeService, index: ReceiptIndex, clock: Clock) -> None:
        self._outcomes = outcomes
        self._index = index
        self._clock = clock

    def process(self, receipts: Sequence[DeliveryReceipt], *, park: bool = True) -> ReceiptsApplied:
        """Apply the receipts whose message is known; park the others."""
        by_carrier: dict[str, list[DeliveryReceipt]] = defaultdict(list)
        for receipt in receipts:
            by_carrier[receipt.carrier].append(receipt)
        outcomes: list[Outcome] = []
        finished = []
        unknown: list[DeliveryReceipt] = []
        for carrier, carrier_receipts in by_carrier.items():
            known = self._index.find(carrier, [r.carrier_message_id for r in carrier_receipts])
            for receipt in carrier_receipts:
                message_id = known.get(receipt.carrier_message_id)
                if message_id is None:
                    unknown.append(receipt)
                    continue
                status = status_for_carrier_state(receipt.carrier_state)
                outcomes.append(Outcome(
                    message_id, OutcomeKind.REPORTED, carrier=carrier,
                    carrier_message_id=receipt.carrier_message_id,
                    carrier_status=receipt.carrier_state, status=status,
                    error_code=receipt.error_code,
                ))
                if status in FINAL_STATUSES:
                    finished.append(message_id)
        if outcomes:
            self._outcomes.record(outcomes)
        if finished:
            self._index.remove(finished)
        if unknown and park:
            self._index.park(unknown, self._clock.now())
        return ReceiptsApplied(len(outcomes), len(unknown))

    def receive(self, receipt: DeliveryReceipt) -> None:
        """Store a receipt for the dispatcher's next batch; once this returns
        the receipt is kept whatever happens to this process."""
        self._index.receive([receipt], self._clock.now())

    def settle_received(self, limit: int = RECEIVED_BATCH) -> int:
        """Settle a batch of the stored receipts, as `process` settles the
        ones a carrier hands over, parking those whose message is not known
        yet. A batch that fails stays stored and is settled again; a receipt
        settled twice moves nothing the second time (a message's transitions
        are monotonic, and its money moves only with them)."""
        return self._index.settle_received(limit, self.process)

    def retry_parked(self, limit: int = SWEEP_BATCH) -> ReceiptsApplied:
        """Apply the parked receipts whose message is known now; give up on
        those that have matched nothing for too long. `parked` in the result
        counts the receipts given up on."""
        ready = self._index.matched_parked(limit)
        applied = self.process([r for _, r in ready], park=False).applied if ready else 0
        self._index.unpark([pid for pid, _ in ready])
        cutoff = self._clock.now() - timedelta(seconds=PARK_FOR_S)
        dropped = self._index.expire_parked(cutoff, limit)
        for receipt in dropped:
            log.error("receipt for unknown %s/%s dropped after %.0fs: %s",
                      receipt.carrier, receipt.carrier_message_id, PARK_FOR_S, receipt.raw)
        return ReceiptsApplied(applied, len(dropped))

    def settle_silent(self, limit: int = SWEEP_BATCH) -> int:
        """Settle, by their route's policy, messages past validity plus grace
        with no final receipt."""
        overdue = self._index.overdue(self._clock.now(), limit)
        if not overdue:
            return 0
        self._outcomes.record([
            Outcome(entry.message_id, OutcomeKind.EXPIRED,
                    capture_on_expiry=entry.capture_on_silence)
            for entry in overdue
        ])
        self._index.remove([entry.message_id for entry in overdue])
        return len(overdue)
