"""The auto-topup role: runs the auto top-up policy over the event log."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from application.billing.auto_topup import AutoTopUp

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
ERROR_BACKOFF_S = 10.0


async def run_auto_topup(policy: AutoTopUp, stop: asyncio.Event) -> None:
    """Handle auto top-up requests until `stop` is set. A run that fails (the
    processor is down, say) leaves its position, so the same requests are
    retried after a pause; their idempotency keys make a retry safe."""
    while not stop.is_set():
        pause_s = POLL_INTERVAL_S
        try:
            handled = await asyncio.to_thread(policy.run_once)
            if handled:
                pause_s = 0.0
        except Exception:
            log.exception("auto top-up run failed; retrying in %s s", ERROR_BACKOFF_S)
            pause_s = ERROR_BACKOFF_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause_s or 0.001)
