"""The simulated carrier: the default route's, and (as a second instance
named `sandbox`, reporting at once and without random failures) the sandbox's.

It accepts at once and reports after a configurable delay, by the rules of
domain/messaging/simulator.py (its magic numbers: failure, expiry, rejection
at submit, no receipt). The sandbox settles most of its messages itself when
it accepts them, by the same rules; its instance here takes the rest (those
scheduled for later, and the number that is never reported).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from application.delivery.carriers import (
    DeliveryReceipt,
    InboundHandler,
    ReceiptHandler,
    SubmitRequest,
    SubmitResult,
)
from domain.messaging.simulator import (
    EXPIRED_NUMBER,
    FAILED_NUMBER,
    REJECTED_NUMBER,
    REJECTION_ERROR_CODE,
    REJECTION_REASON,
    SILENT_NUMBER,
    SimulatedReceipt,
    simulated_outcome,
)

__all__ = [
    "EXPIRED_NUMBER", "FAILED_NUMBER", "REJECTED_NUMBER", "SILENT_NUMBER", "SimulatedCarrier",
    "SimulatorSettings",
]

log = logging.getLogger(__name__)

MAX_PENDING_RECEIPTS = 100_000


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    receipt_delay_s: float = 1.0
    failure_share: float = 0.05  # of other numbers
    seed: str = "smsledger"


class SimulatedCarrier:
    def __init__(self, settings: SimulatorSettings, name: str = "simulated") -> None:
        assert 0 <= settings.failure_share <= 1 and settings.receipt_delay_s >= 0
        self.name = name
        self._settings = settings
        self._on_receipt: ReceiptHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, on_receipt: ReceiptHandler, on_inbound: InboundHandler) -> None:
        self._on_receipt = on_receipt

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        outcome = simulated_outcome(
            request.message_id, request.destination,
            failure_share=self._settings.failure_share, seed=self._settings.seed,
        )
        if not outcome.accepted:
            return SubmitResult(False, error_code=REJECTION_ERROR_CODE, reason=REJECTION_REASON)
        carrier_id = f"sim-{uuid.uuid4().hex}"
        state = outcome.receipt
        if state is not None and request.wants_receipt:
            if len(self._tasks) >= MAX_PENDING_RECEIPTS:
                log.warning("simulated carrier: too many pending receipts; dropping one")
            else:
                task = asyncio.create_task(self._report(carrier_id, state))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return SubmitResult(True, carrier_message_id=carrier_id)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _report(self, carrier_id: str, state: SimulatedReceipt) -> None:
        await asyncio.sleep(self._settings.receipt_delay_s)
        assert self._on_receipt is not None, "start() before submit()"
        word, error = state.carrier_state, state.error_code
        done_at = datetime.now(UTC)
        raw = f"id:{carrier_id} sub:001 dlvrd:{int(word == 'DELIVRD'):03d} stat:{word} err:{error}"
        try:
            receipt = DeliveryReceipt(self.name, carrier_id, word, error, done_at, raw)
            await self._on_receipt(receipt)
        except Exception:  # the handler logs and retries its own failures
            log.exception("simulated carrier: receipt handler failed")
