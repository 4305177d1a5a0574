"""The campaign executor as a background role: a loop that asks the executor
for a pass, off the event loop, and waits a little when there was nothing to do."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from application.batch_completion import BatchCompleter
from application.campaign_executor import CampaignExecutor

log = logging.getLogger(__name__)

# How soon an approved or resumed campaign starts when the executor is idle.
IDLE_POLL_S = 0.5
# How soon a bulk batch whose last message became final reads `completed`,
# on top of the campaign-progress read model's own lag.
COMPLETION_POLL_S = 1.0
ERROR_BACKOFF_S = 5.0


async def run_campaign_executor(executor: CampaignExecutor, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            chunks = await asyncio.to_thread(executor.run_once)
        except Exception:
            log.exception("the campaign executor's pass failed")
            chunks, wait_s = 0, ERROR_BACKOFF_S
        else:
            wait_s = IDLE_POLL_S
        if chunks:
            continue  # more may be waiting: no pause between busy passes
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)


async def run_batch_completer(completer: BatchCompleter, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            completed = await asyncio.to_thread(completer.complete_finished)
        except Exception:
            log.exception("completing finished batches failed")
            completed, wait_s = 0, ERROR_BACKOFF_S
        else:
            wait_s = COMPLETION_POLL_S
        if completed:
            continue  # a pass is bounded: more may be done already
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)
