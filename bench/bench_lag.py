"""Benchmark 5: projection lag, from a bulk's commit to its read models.

The relay runs in one `WorkerProcess` and every projection in another, on a
stream of their own, as `smsledger up` runs them beside the API. The main thread
accepts 10,000-recipient bulks back to back through `send_bulk`. Each bulk's
commit time is taken just after `send_bulk` returns. A tracker thread polls
every 10 ms: the relay's saved position, every projection's position, and
the message log's row count for the bulk's campaign. A bulk is visible in a
projection once its position reaches the bulk's last event of a type that
projection reads (for the message log, also once all 10,000 rows are there).
A sampler thread calls `statuses(...)` every 100 ms (lag_events, lag_s).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import nats
from eventsourcing.utils import get_topic

from adapters.bootstrap.container import Container
from adapters.bootstrap.workers import PROJECTOR_GROUPS, WorkerProcess
from adapters.projector.status import statuses, topics_of
from adapters.relay.relay import RELAY_NAME
from bench.bench_relay import (
    bulk_command,
    delete_stream_quietly,
    head_of,
    isolated_bus,
    set_relay_position,
)
from bench.harness import BULK_SIZE, create_account, progress
from bench.lag_floor import FloorProcess
from bench.lag_report import (
    MESSAGE_LOG_COUNT,
    SAMPLE_INTERVAL_S,
    STAGES,
    Bulk,
    Burst,
    run_result,
    summarize,
)
from domain.message import Message
from projections.registry import ALL_PROJECTIONS

LAG_BULKS = 10
POLL_INTERVAL_S = 0.01
VISIBLE_TIMEOUT_S = 900.0
FLOOR_STAGES = ("message_log", MESSAGE_LOG_COUNT)
ACCEPTED_TOPIC = get_topic(Message.Accepted)


class Tracker(threading.Thread):
    """Polls positions and the message log until every bulk is visible everywhere."""

    def __init__(self, container: Container, stages: tuple[str, ...] = STAGES) -> None:
        super().__init__(name="bench-lag-tracker", daemon=True)
        self._container = container
        self._stages = stages
        self._lock = threading.Lock()
        self._pending: list[Bulk] = []
        self.bulks: list[Bulk] = []
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def add(self, bulk: Bulk) -> None:
        with self._lock:
            self._pending.append(bulk)
            self.bulks.append(bulk)

    def all_seen(self) -> bool:
        with self._lock:
            return not self._pending

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self._poll()
                time.sleep(POLL_INTERVAL_S)
        except BaseException as error:  # surfaced by the main thread
            self.error = error

    def _poll(self) -> None:
        with self._lock:
            pending = list(self._pending)
        if not pending:
            return
        with self._container.pool.connection() as conn:
            for bulk in pending:
                if not bulk.targets:
                    bulk.targets = {stage: target for stage, target
                                    in _targets(conn, self._container, bulk).items()
                                    if stage in self._stages}
            positions: dict[str, int] = dict(conn.execute(
                "SELECT name, position FROM projection_positions"
                " UNION ALL SELECT '.relay', position FROM relay_positions WHERE name = %s",
                (RELAY_NAME,),
            ).fetchall())
            now = time.perf_counter()
            for bulk in pending:
                for stage, target in bulk.targets.items():
                    key = ".relay" if stage == "relay" else stage
                    if stage not in bulk.seen and positions.get(key, 0) >= target:
                        bulk.seen[stage] = now
                # Counted only once the projection's position says the bulk is
                # in: counting 10,000 rows for every pending bulk every 10 ms
                # loads the very database whose lag is being measured.
                if MESSAGE_LOG_COUNT not in bulk.seen and "message_log" in bulk.seen:
                    row = conn.execute("SELECT count(*) FROM rm_message_log"
                                       " WHERE campaign_id = %s", (bulk.campaign_id,)).fetchone()
                    if row and row[0] >= BULK_SIZE:
                        bulk.seen[MESSAGE_LOG_COUNT] = time.perf_counter()
        with self._lock:
            self._pending = [b for b in self._pending if not b.done()]


def _targets(conn: Any, container: Container, bulk: Bulk) -> dict[str, int]:
    table = _events_table(container)
    targets = {"relay": bulk.head}
    for projection in ALL_PROJECTIONS:
        row = conn.execute(
            f"SELECT max(notification_id) FROM {table}"  # our own table name
            " WHERE notification_id > %s AND notification_id <= %s AND topic = ANY(%s)",
            (bulk.after, bulk.head, topics_of(projection)),
        ).fetchone()
        if row and row[0] is not None:
            targets[projection.name] = int(row[0])
    return targets


class Sampler(threading.Thread):
    """`statuses(...)` every SAMPLE_INTERVAL_S until stopped."""

    def __init__(self, container: Container) -> None:
        super().__init__(name="bench-lag-sampler", daemon=True)
        self._container = container
        self.samples: list[tuple[float, dict[str, tuple[int, float]]]] = []
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        app = self._container.app
        table = app.recorder.events_table_name  # type: ignore[attr-defined]
        try:
            while not self.stop_event.is_set():
                started = time.perf_counter()
                rows = statuses(ALL_PROJECTIONS, self._container.pool, app.recorder,
                                app.mapper, table)
                self.samples.append(
                    (started, {r.name: (r.lag_events, r.lag_s) for r in rows}))
                self.stop_event.wait(max(0.0, SAMPLE_INTERVAL_S - (time.perf_counter() - started)))
        except BaseException as error:  # surfaced by the main thread
            self.error = error


def set_projection_positions(container: Container, position: int) -> None:
    with container.pool.connection() as conn:
        for projection in ALL_PROJECTIONS:
            conn.execute(
                "INSERT INTO projection_positions (name, position) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
                (projection.name, position),
            )


# The benchmark ---------------------------------------------------------------------


def run_lag(container: Container, nats_url: str, runs: int) -> dict[str, Any]:
    progress(f"lag: {runs} runs; each: relay + {len(ALL_PROJECTIONS)} projections in worker"
             f" processes, 1 warm-up + {LAG_BULKS} back-to-back bulks of {BULK_SIZE:,}, with"
             f" statuses() every {SAMPLE_INTERVAL_S} s, then without, then the floor")
    command = bulk_command(create_account(container, "Bench lag").account_id)
    results = []
    for index in range(runs):
        sampled = _product_burst(container, nats_url, command, sample=True)
        progress("lag: the same again without the statuses() sampler")
        quiet = _product_burst(container, nats_url, command, sample=False)
        progress("lag: the same bulks into the message log by the floor (lag_floor.py)")
        floor = _burst(container, command, sample=False, stages=FLOOR_STAGES,
                       workers=lambda head: [FloorProcess(
                           container.database_url, _events_table(container), ACCEPTED_TOPIC,
                           head)])
        results.append(run_result(sampled, quiet, floor))
        progress(f"lag: run {index + 1}/{runs}: message log p99"
                 f" {results[-1]['message_log_visible_p99_s']:.2f} s,"
                 f" floor p99 {results[-1]['floor_p99_s']:.2f} s")
    return summarize(results)


def _product_burst(container: Container, nats_url: str, command: Any, *,
                   sample: bool) -> Burst:
    """The relay and the projections on a new stream, each in a process of
    their own, as `smsledger up` runs them beside the API."""
    bus = isolated_bus(container, "lag")
    workers_container = replace(container, nats_url=nats_url,
                                settings=replace(container.settings, bus=bus))

    def workers(head: int) -> list[Any]:
        set_relay_position(container, head)
        return [
            WorkerProcess(workers_container.settings, workers_container.database_url,
                          nats_url, roles=(role,))
            for role in ("relay", *PROJECTOR_GROUPS)
        ]

    try:
        return _burst(container, command, sample=sample, stages=STAGES, workers=workers)
    finally:
        asyncio.run(_delete_stream(nats_url, bus.stream_name))


def _burst(container: Container, command: Any, *, sample: bool, stages: tuple[str, ...],
           workers: Callable[[int], list[Any]]) -> Burst:
    """One warm-up bulk, then LAG_BULKS back to back, with new workers."""
    # Everything so far counts as relayed and projected: the stream is new, and
    # the run measures a caught-up system taking a burst.
    head = head_of(container)
    set_projection_positions(container, head)
    started_workers = workers(head)
    for worker in started_workers:
        worker.start()
    tracker, sampler = Tracker(container, stages), Sampler(container)
    try:
        tracker.start()
        warm_up = _send(container, command, tracker, -1)
        _wait_seen(tracker, sampler)
        progress(f"lag: warm-up bulk visible everywhere after "
                 f"{max(warm_up.seen.values()) - warm_up.committed:.2f} s")
        if sample:
            sampler.start()
        started = time.perf_counter()
        for index in range(LAG_BULKS):
            _send(container, command, tracker, index)
        accept_s = time.perf_counter() - started
        progress(f"lag: {LAG_BULKS} bulks accepted in {accept_s:.2f} s; waiting for read models")
        _wait_seen(tracker, sampler)
        drained_s = time.perf_counter() - started
        progress(f"lag: all visible after {drained_s:.2f} s")
        if sample:
            time.sleep(3 * SAMPLE_INTERVAL_S)  # a few samples of the caught-up state
    finally:
        for thread in (sampler, tracker):
            thread.stop_event.set()
            if thread.is_alive():
                thread.join(timeout=10)
        for worker in reversed(started_workers):
            worker.stop()
    return Burst(tracker.bulks[1:], warm_up, sampler.samples, accept_s, drained_s)


def _events_table(container: Container) -> str:
    return str(container.app.recorder.events_table_name)  # type: ignore[attr-defined]


def _send(container: Container, command: Any, tracker: Tracker, index: int) -> Bulk:
    after = head_of(container)
    accepted = container.messaging.send_bulk(command)
    committed = time.perf_counter()
    bulk = Bulk(index, accepted.batch_id, committed, after, head_of(container))
    tracker.add(bulk)
    return bulk


def _wait_seen(tracker: Tracker, sampler: Sampler) -> None:
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while not tracker.all_seen():
        for thread in (tracker, sampler):
            if thread.error is not None:
                raise RuntimeError(f"{thread.name} failed") from thread.error
        if time.monotonic() > deadline:
            raise TimeoutError(f"bulks not visible after {VISIBLE_TIMEOUT_S:.0f} s")
        time.sleep(0.05)


async def _delete_stream(nats_url: str, name: str) -> None:
    nc = await nats.connect(nats_url, name="smsledger-bench-lag-cleanup")
    try:
        await delete_stream_quietly(nc.jetstream(), name)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
