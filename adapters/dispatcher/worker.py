"""The dispatcher role: consumes message.accepted from JetStream as a work
queue shared by every dispatcher process, and runs the receipt side.

A message is acked only after its outcome is saved. One that must wait (its
schedule, a throttled or busy carrier) is handed back with a delay, so a
backlog waits in the stream, not in memory. A run this process cannot
finish (the database is gone) is handed back at once with a growing delay.

While a run is held here, in a queue or in the middle of a long save, it is
marked in progress every KEEPALIVE_S, so JetStream never gives it to another
dispatcher while this one lives; and the ack wait can be short, so that the
runs of a dispatcher that dies are taken up within ACK_WAIT_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping
from uuid import UUID

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.jetstream.runs import SHARED_RUNS
from adapters.jetstream.subjects import subject_of
from application.delivery.carriers import Carrier, DeliveryReceipt, InboundMessage
from application.delivery.dispatching import Dispatcher, OutcomesNotSaved
from application.delivery.inbound import InboundService
from application.delivery.receipts import ReceiptProcessor

log = logging.getLogger(__name__)

DURABLE = "dispatcher"
FETCH_TIMEOUT_S = 1.0
ACK_WAIT_S = 30.0
KEEPALIVE_S = ACK_WAIT_S / 3
# A run handed back after a failure comes back after this many seconds,
# doubling with each delivery up to the last.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
RECEIPT_FLUSH_S = 0.1
RECEIPT_BATCH_MAX = 2000
PARKED_RETRY_S = 1.0
# How often the receipts HTTP carriers posted are looked for. Not every
# round: that would add a query to the loop that settles SMPP receipts ten
# times a second, whether or not any HTTP carrier is configured.
RECEIVED_POLL_S = 0.5
SWEEP_INTERVAL_S = 10.0
RECEIPT_BUFFER_MAX = 20_000


class ReceiptCollector:
    """Gathers receipts from carrier callbacks and applies them in batches,
    so a burst of receipts becomes one settlement per wallet per batch; and
    settles, the same way, those HTTP carriers posted to the API."""

    def __init__(self, processor: ReceiptProcessor, inbound: InboundService) -> None:
        self._processor = processor
        self._inbound = inbound
        self._buffer: list[DeliveryReceipt] = []
        self._room = asyncio.Event()
        self._room.set()

    async def on_receipt(self, receipt: DeliveryReceipt) -> None:
        # Back-pressure: a carrier that outruns the database waits here.
        while len(self._buffer) >= RECEIPT_BUFFER_MAX:
            self._room.clear()
            await self._room.wait()
        self._buffer.append(receipt)

    async def on_inbound(self, message: InboundMessage) -> None:
        await asyncio.to_thread(self._inbound.receive, message)

    async def run(self, stop: asyncio.Event) -> None:
        since_parked_s, since_sweep_s, since_received_s = 0.0, 0.0, 0.0
        while not stop.is_set():
            await _sleep_unless(stop, RECEIPT_FLUSH_S)
            since_parked_s += RECEIPT_FLUSH_S
            since_sweep_s += RECEIPT_FLUSH_S
            since_received_s += RECEIPT_FLUSH_S
            try:
                await self._flush_buffer()
                if since_received_s >= RECEIVED_POLL_S:
                    since_received_s = 0.0
                    await self._settle_received()
                if since_parked_s >= PARKED_RETRY_S:
                    since_parked_s = 0.0
                    await asyncio.to_thread(self._processor.retry_parked)
                if since_sweep_s >= SWEEP_INTERVAL_S:
                    since_sweep_s = 0.0
                    await asyncio.to_thread(self._processor.settle_silent)
            except Exception:  # keep the receipts; the next round retries them
                log.exception("receipt processing failed; retrying")
        await self.flush()

    async def flush(self) -> None:
        """Settle every receipt held: those carriers handed over here, then
        those HTTP carriers posted."""
        await self._flush_buffer()
        await self._settle_received()

    async def _flush_buffer(self) -> None:
        while self._buffer:
            batch = self._buffer[:RECEIPT_BATCH_MAX]
            await asyncio.to_thread(self._processor.process, batch)
            del self._buffer[: len(batch)]
            self._room.set()

    async def _settle_received(self) -> None:
        # A full batch means more may wait.
        settled = RECEIPT_BATCH_MAX
        while settled == RECEIPT_BATCH_MAX:
            settled = await asyncio.to_thread(self._processor.settle_received, RECEIPT_BATCH_MAX)


class DispatcherWorker:
    def __init__(
        self, dispatcher: Dispatcher, carriers: Mapping[str, Carrier], collector: ReceiptCollector
    ) -> None:
        self._dispatcher = dispatcher
        self._carriers = carriers
        self._collector = collector
        # Fetched, not yet acked or handed back; by identity (Msg is unhashable).
        self._held: dict[int, Msg] = {}
        self._stop = asyncio.Event()

    async def run(
        self, js: JetStreamContext, stop: asyncio.Event, *, stream: str, subject_prefix: str,
        batch_size: int,
    ) -> None:
        self._stop = stop
        for carrier in self._carriers.values():
            await carrier.start(self._collector.on_receipt, self._collector.on_inbound)
        subject = subject_of("message.accepted", subject_prefix)
        await js.add_consumer(stream, ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            max_deliver=-1,  # scheduled messages come back until they are due
            # Counted in published messages, each a run of up to a relay
            # section of accepted messages.
            max_ack_pending=batch_size,
            filter_subject=subject,
        ))
        subscription = await js.pull_subscribe_bind(durable=DURABLE, stream=stream)
        receipts = asyncio.create_task(self._collector.run(stop))
        keepalive = asyncio.create_task(self._keep_alive(stop))
        try:
            with SHARED_RUNS.reading([subject]):
                while not stop.is_set():
                    try:
                        await self._consume_once(subscription, batch_size)
                    except Exception:  # NATS went away: back off
                        log.exception("dispatcher: consuming failed; retrying")
                        await _sleep_unless(stop, 1.0)
        finally:
            await receipts
            keepalive.cancel()
            for carrier in self._carriers.values():
                with contextlib.suppress(Exception):
                    await carrier.stop()

    async def _keep_alive(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _sleep_unless(stop, KEEPALIVE_S)
            for msg in list(self._held.values()):
                with contextlib.suppress(Exception):  # gone, or NATS away: it comes back
                    await msg.in_progress()

    async def _consume_once(
        self, subscription: JetStreamContext.PullSubscription, batch_size: int
    ) -> None:
        try:
            msgs = await subscription.fetch(batch_size, timeout=FETCH_TIMEOUT_S)
        except TimeoutError:
            return
        self._held.update((id(msg), msg) for msg in msgs)
        chunk: list[tuple[Msg, list[UUID]]] = []
        chunk_ids = 0
        for msg in msgs:
            try:
                ids = [envelope.aggregate_id for envelope in SHARED_RUNS.decode(msg)]
            except msgspec.DecodeError:
                log.error("dispatcher: dropping an undecodable envelope: %r", msg.data[:200])
                await self._settle(msg, msg.term())
                continue
            chunk.append((msg, ids))
            chunk_ids += len(ids)
            if chunk_ids >= batch_size:
                await self._dispatch_chunk(chunk)
                chunk, chunk_ids = [], 0
        if chunk:
            await self._dispatch_chunk(chunk)

    async def _dispatch_chunk(self, chunk: list[tuple[Msg, list[UUID]]]) -> None:
        """Dispatch the messages of a few published runs, then settle each run:
        acked when every message in it is done with, else handed back after the
        shortest wait. A redelivered run's finished messages are skipped (the
        dispatcher sees they are no longer waiting), so only the rest go on."""
        message_ids = list(dict.fromkeys(i for _, ids in chunk for i in ids))
        try:
            decisions = await self._dispatcher.dispatch(message_ids, self._stop)
        except OutcomesNotSaved:
            # Stopping with the carrier's ids unsaved (logged): the runs stay
            # unacknowledged and come back to a dispatcher after the ack wait.
            for msg, _ in chunk:
                self._held.pop(id(msg), None)
            return
        except Exception:
            log.exception("dispatcher: %d messages not dispatched; handed back",
                          len(message_ids))
            for msg, _ in chunk:
                await self._settle(msg, msg.nak(delay=_retry_delay_s(msg)))
            return
        for msg, ids in chunk:
            delays_s = [d for d in (decisions.get(i) for i in ids) if d is not None]
            if delays_s:
                await self._settle(msg, msg.nak(delay=min(delays_s)))
            else:
                await self._settle(msg, msg.ack())

    async def _settle(self, msg: Msg, answer: Awaitable[None]) -> None:
        self._held.pop(id(msg), None)
        try:
            await answer
        except Exception:  # NATS away: the run comes back after the ack wait
            log.warning("dispatcher: could not answer JetStream for a run", exc_info=True)


def _retry_delay_s(msg: Msg) -> float:
    try:
        deliveries = max(1, msg.metadata.num_delivered or 1)
    except Exception:  # not a JetStream message: first delivery
        deliveries = 1
    return float(min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** min(deliveries - 1, 16)))


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
