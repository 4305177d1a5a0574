"""The sender: posts queued deliveries concurrently, and records the results.

Up to `max_in_flight` attempts run at once in this process, and at most
`max_in_flight_per_endpoint` to one target, so one slow receiver cannot take
every place. Results are recorded in batches (one transaction per batch),
after which the next events of the same messages become due. The sender
wakes on PostgreSQL notifications sent by the transactions that queue
deliveries, and otherwise looks for due retries every IDLE_POLL_S.

Claims and records go through the sender's own asynchronous connections, on
the event loop. Through a worker thread each round trip cost the loop far
more than the query: every socket call of every post gave up the
interpreter lock to the thread and waited to get it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg_pool import AsyncConnectionPool

from adapters.webhooks import queue, recording
from adapters.webhooks.client import Response, TargetClients
from adapters.webhooks.config import WebhookSettings
from adapters.webhooks.intake import NOTIFY_CHANNEL
from adapters.webhooks.ssrf import UrlGuard, UrlRefused
from domain.webhooks.retry import RetryPolicy, Verdict, retry_after_s, verdict
from domain.webhooks.signing import signature_headers

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.5
# Deliveries claimed per target beyond those being posted, waiting their
# turn: each claim is a database round trip, so it fetches several turns'
# worth at once instead of one row per finished attempt.
PREFETCH_FACTOR = 4
RECORD_GATHER_S = 0.005
LEASE_MARGIN_S = 30.0
LISTEN_TIMEOUT_S = 1.0
BACKOFF_CAP_S = 5.0
STOP_DRAIN_S = 12.0
MAX_CLOSING_RECORD_TRIES = 3
# One connection claims while the other records; a third is never needed.
DB_CONNECTIONS = 2
DB_WAIT_S = 5.0

_STATUS_OF = {
    Verdict.SUCCEEDED: "succeeded",
    Verdict.RETRY: "pending",
    Verdict.FAILED: "failed",
    Verdict.GONE: "failed",
}


class WebhookSender:
    def __init__(
        self,
        database_url: str,
        guard: UrlGuard,
        settings: WebhookSettings,
        *,
        lease_s: float | None = None,
        uniform: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database_url = database_url
        self._db = AsyncConnectionPool(
            database_url, min_size=DB_CONNECTIONS, max_size=DB_CONNECTIONS,
            kwargs={"autocommit": True}, timeout=DB_WAIT_S, open=False,
            name="smsledger-webhooks",
        )
        self._guard = guard
        self._settings = settings
        self._policy = RetryPolicy(settings.retry_schedule_s)
        self._lease_s = lease_s if lease_s is not None else settings.timeout_s + LEASE_MARGIN_S
        self._uniform = uniform
        self._clock = clock
        self._clients = TargetClients(
            timeout_s=settings.timeout_s,
            per_host_connections=settings.max_in_flight_per_endpoint,
        )
        self._in_flight: Counter[str] = Counter()  # claimed and not yet finished
        self._prefetch = settings.max_in_flight_per_endpoint * PREFETCH_FACTOR
        # A target is topped up once half its claimed work is done, not
        # after every single attempt.
        self._refill_at = self._prefetch // 2
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[queue.Outcome] = []
        self._wake = asyncio.Event()
        self._recorded = asyncio.Event()
        self._closing = False
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        await self._db.open(wait=False)  # connects in the background; claims wait
        helpers = [
            asyncio.create_task(self._listen(stop), name="webhooks:listen"),
            asyncio.create_task(self._record_loop(stop), name="webhooks:record"),
        ]
        failures = 0
        try:
            while not stop.is_set():
                # Cleared before the claim, so that a wake during it (a
                # target with room again) is not lost.
                self._wake.clear()
                try:
                    claimed = await self._claim()
                    failures = 0
                except Exception:  # the database went away: back off and go on
                    failures += 1
                    log.exception("webhooks: claiming failed")
                    await _sleep_unless(stop, min(BACKOFF_CAP_S, 0.1 * 2**failures))
                    continue
                for delivery in claimed:
                    self._start(delivery)
                if not claimed or len(self._tasks) >= self._settings.max_in_flight:
                    await self._wait_for_work(stop)
        finally:
            await self._drain()
            helpers[0].cancel()
            # The recorder is never cancelled mid-write (its transaction
            # would roll back, and those deliveries be posted again once
            # their lease ran out): it stops once it has recorded every result.
            self._closing = True
            self._recorded.set()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP sessions and the database connections."""
        await self._clients.aclose()
        await self._db.close()

    async def _claim(self) -> list[queue.Claimed]:
        room = self._settings.max_in_flight - len(self._tasks)
        if room <= 0:
            return []
        cap = self._prefetch
        counts = {t: (cap if n > self._refill_at else n) for t, n in self._in_flight.items()}
        async with self._db.connection() as conn:
            return await queue.claim(conn, room, counts, cap, self._lease_s)

    def _start(self, delivery: queue.Claimed) -> None:
        self._in_flight[delivery.target] += 1
        task = asyncio.create_task(self._attempt(delivery))
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._in_flight[delivery.target] -= 1
            left = self._in_flight[delivery.target]
            if left <= 0:
                del self._in_flight[delivery.target]
                self._gates.pop(delivery.target, None)
            # A claim is a database round trip: worth one once this target
            # can take half a prefetch again, or once a full process has room.
            if left == self._refill_at or len(self._tasks) == self._settings.max_in_flight - 1:
                self._wake.set()

        task.add_done_callback(done)

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=IDLE_POLL_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _attempt(self, delivery: queue.Claimed) -> None:
        gate = self._gates.get(delivery.target)
        if gate is None:
            gate = asyncio.Semaphore(self._settings.max_in_flight_per_endpoint)
            self._gates[delivery.target] = gate
        async with gate:  # at most max_in_flight_per_endpoint posts to one target
            attempted_at = self._clock()
            response = await self.post(delivery)
        self._outcomes.append(self._outcome(delivery, response, attempted_at))
        self._recorded.set()

    async def post(self, delivery: queue.Claimed) -> Response:
        """One signed attempt, checked against the address rules first."""
        if not delivery.secrets:
            return Response(None, 0, "Nothing to sign with: the account has no active "
                            "webhook endpoint", None, b"")
        try:
            target = await self._guard.target(delivery.url)
        except UrlRefused as refused:
            return Response(None, 0, f"Refused: {refused}", None, b"")
        headers = signature_headers(
            delivery.secrets, str(delivery.event_id), int(time.time()), delivery.body
        )
        return await self._clients.post(target, delivery.body, headers)

    def _outcome(
        self, delivery: queue.Claimed, response: Response, attempted_at: datetime
    ) -> queue.Outcome:
        judged = verdict(response.status_code, delivery.attempt, self._policy)
        next_at = None
        if judged == Verdict.RETRY:
            asked = retry_after_s(response.status_code, response.retry_after, attempted_at)
            delay_s = self._policy.delay_s(delivery.attempt, asked, self._uniform)
            next_at = attempted_at + timedelta(seconds=delay_s)
        return queue.Outcome(
            delivery_id=delivery.id, endpoint_id=delivery.endpoint_id, kind=delivery.kind,
            attempt=delivery.attempt, status_code=response.status_code,
            latency_ms=response.latency_ms, error=response.error, attempted_at=attempted_at,
            status=_STATUS_OF[judged], next_attempt_at=next_at,
            gone=judged == Verdict.GONE,
        )

    async def _record_loop(self, stop: asyncio.Event) -> None:
        failures = 0
        while not (self._closing and not self._outcomes):
            await self._recorded.wait()
            self._recorded.clear()
            await asyncio.sleep(RECORD_GATHER_S)  # let a burst of results gather
            try:
                await self._flush()
                failures = 0
            except Exception:  # kept; the next round records them
                failures += 1
                log.exception("webhooks: recording attempts failed")
                if self._closing and failures >= MAX_CLOSING_RECORD_TRIES:
                    return  # the leases run out and other senders retry them
                self._recorded.set()
                await asyncio.sleep(min(BACKOFF_CAP_S, 0.1 * 2**failures))
            self._wake.set()

    async def _flush(self) -> None:
        # Taken on the event loop's thread, where results are appended.
        batch, self._outcomes = self._outcomes, []
        try:
            async with self._db.connection() as conn:
                await recording.record(conn, batch, self._settings.disable_after_s)
        except Exception:
            self._outcomes[:0] = batch
            raise
        self.sent += sum(1 for o in batch if o.status == "succeeded")

    async def _listen(self, stop: asyncio.Event) -> None:
        """Wake on each committed batch of new deliveries, from any process."""
        failures = 0
        while not stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(self._database_url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    failures = 0
                    while not stop.is_set():
                        async for _ in conn.notifies(timeout=LISTEN_TIMEOUT_S):
                            self._wake.set()
            except Exception:  # polling still finds the work meanwhile
                failures += 1
                log.warning("webhooks: listening failed; polling until it is back",
                            exc_info=True)
                await _sleep_unless(stop, min(BACKOFF_CAP_S, 0.1 * 2**failures))

    async def _drain(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_DRAIN_S)
        for task in list(self._tasks):
            task.cancel()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
