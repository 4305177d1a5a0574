"""The simulated carrier: the default route's, and (as a second instance
named `sandbox`, reporting at once and without random failures) the sandbox's.

It accepts at once and reports after a configurable delay. Some destinations
have fixed outcomes, so that an integration can exercise every path:

| destination     | outcome                                            |
|-----------------|----------------------------------------------------|
| +15005550001    | failed: receipt UNDELIV, err 001                   |
| +15005550002    | expired: receipt EXPIRED                           |
| +15005550003    | rejected at submit: no carrier id, error 0x45      |
| +15005550004    | no receipt ever: settled by the route's policy      |
| any other       | DELIVRD, or UNDELIV for a seeded share of numbers  |

The seeded share is decided from the message id and the seed, so the same
message always gets the same outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from application.carriers import (
    DeliveryReceipt,
    InboundHandler,
    ReceiptHandler,
    SubmitRequest,
    SubmitResult,
)

log = logging.getLogger(__name__)

FAILED_NUMBER = "+15005550001"
EXPIRED_NUMBER = "+15005550002"
REJECTED_NUMBER = "+15005550003"
SILENT_NUMBER = "+15005550004"
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
        if request.destination == REJECTED_NUMBER:
            return SubmitResult(False, error_code="0x00000045", reason="simulated rejection")
        carrier_id = f"sim-{uuid.uuid4().hex}"
        state = self._state_for(request)
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

    def _state_for(self, request: SubmitRequest) -> tuple[str, str] | None:
        if request.destination == SILENT_NUMBER:
            return None
        if request.destination == FAILED_NUMBER:
            return "UNDELIV", "001"
        if request.destination == EXPIRED_NUMBER:
            return "EXPIRED", "000"
        digest = hashlib.sha256(f"{self._settings.seed}/{request.message_id}".encode()).digest()
        share = int.from_bytes(digest[:4], "big") / 2**32
        return ("UNDELIV", "001") if share < self._settings.failure_share else ("DELIVRD", "000")

    async def _report(self, carrier_id: str, state: tuple[str, str]) -> None:
        await asyncio.sleep(self._settings.receipt_delay_s)
        assert self._on_receipt is not None, "start() before submit()"
        word, error = state
        done_at = datetime.now(UTC)
        raw = f"id:{carrier_id} sub:001 dlvrd:{int(word == 'DELIVRD'):03d} stat:{word} err:{error}"
        try:
            receipt = DeliveryReceipt(self.name, carrier_id, word, error, done_at, raw)
            await self._on_receipt(receipt)
        except Exception:  # the handler logs and retries its own failures
            log.exception("simulated carrier: receipt handler failed")
