"""The campaigns role: the campaign executor and the batch completer, each a
loop that asks for a pass off the event loop and waits a little when there
was nothing to do."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from application.campaigns.batch_completion import BatchCompleter
from application.campaigns.executor import CampaignExecutor

log = logging.getLogger(__name__)

# How soon an approved or resumed campaign starts when the executor is idle.
IDLE_POLL_S = 0.5
# How soon a bulk batch whose last message became final reads `completed`,
# on top of the campaign-progress read model's own lag.
COMPLETION_POLL_S = 1.0
ERROR_BACKOFF_S = 5.0


async def run_campaign_executor(executor: CampaignExecutor, stop: asyncio.Event) -> None:
    await _run_passes(executor.run_once, stop, IDLE_POLL_S, "the campaign executor's pass")


async def run_batch_completer(completer: BatchCompleter, stop: asyncio.Event) -> None:
    await _run_passes(
        completer.complete_finished, stop, COMPLETION_POLL_S, "completing finished batches"
    )


async def _run_passes(
    one_pass: Callable[[], int], stop: asyncio.Event, idle_s: float, what: str
) -> None:
    """Run `one_pass` off the event loop until `stop`: again at once while it
    finds work (a pass is bounded, so more may be waiting), after `idle_s`
    when it found none, after ERROR_BACKOFF_S when it failed."""
    while not stop.is_set():
        try:
            done = await asyncio.to_thread(one_pass)
        except Exception:
            log.exception("%s failed", what)
            done, wait_s = 0, ERROR_BACKOFF_S
        else:
            wait_s = idle_s
        if done:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)
