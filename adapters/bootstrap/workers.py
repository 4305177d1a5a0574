"""The background roles: the relay, the projection builders, the dispatcher
and the webhook senders.

`run_workers` connects to NATS, declares the stream and runs the chosen roles
until `stop` is set. `WorkerProcess` runs them in a child process beside the
API in `up`, whose supervisor restarts it if it dies (`supervised_workers`);
`WorkerThread` in a thread of the caller's (for tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as ProcessEvent

import nats
from nats.js import JetStreamContext

from adapters.bootstrap.billing_worker import run_auto_topup
from adapters.bootstrap.campaign_worker import run_batch_completer, run_campaign_executor
from adapters.bootstrap.container import Container, build
from adapters.carriers.simulated import SimulatedCarrier, SimulatorSettings
from adapters.carriers.smpp import SmppCarrier
from adapters.carriers.smpp.urls import parse_smpp_urls
from adapters.clock import SystemClock
from adapters.config.settings import BusSettings, Settings
from adapters.dispatcher.worker import DispatcherWorker, ReceiptCollector
from adapters.jetstream.streams import ensure_stream, stream_settings
from adapters.postgres.dispatch import (
    PostgresDispatchClaims,
    PostgresReceiptIndex,
    PostgresReplyRoutes,
    load_routes,
)
from adapters.projector.runner import ProjectionRunner
from adapters.relay.positions import RelayPositions
from adapters.relay.relay import Relay
from adapters.runtime.supervisor import SupervisedProcess, Supervisor
from adapters.webhooks.intake import WebhookIntake
from adapters.webhooks.sender import WebhookSender
from application.delivery.carriers import Carrier
from application.delivery.dispatching import Dispatcher
from application.delivery.routing import SANDBOX_CARRIER, SIMULATED_CARRIER, RouteBook
from projections.base import Projection
from projections.registry import ALL_PROJECTIONS, by_name

log = logging.getLogger(__name__)

NATS_CONNECT_TIMEOUT_S = 10
STOP_TIMEOUT_S = 15
NATS_CLOSE_TIMEOUT_S = 5
# Long enough for the dispatcher to index the submission before its receipt
# comes back (an earlier receipt is parked and retried a second later), short
# enough that a scheduled sandbox message reads `delivered` almost as soon as
# it is due. (Sandbox messages sent now never get here: they are settled as
# they are accepted, domain/messaging/sandbox.py.)
SANDBOX_RECEIPT_DELAY_S = 0.1


PROJECTOR_ROLE = "projector"
# `up` runs the projections in two processes: the message log, the busiest
# (a 26-column row and seven index entries per message), in one of its own,
# and the others together. In one process, the message log's share of the
# interpreter lock left it furthest behind while bulks arrived.
_BUSIEST = "message_log"
PROJECTOR_GROUPS: tuple[str, str] = (
    f"{PROJECTOR_ROLE}:{_BUSIEST}",
    f"{PROJECTOR_ROLE}:" + ",".join(p.name for p in ALL_PROJECTIONS if p.name != _BUSIEST),
)


def projections_of(roles: Sequence[str]) -> list[Projection]:
    """The projections the roles run: `projector` runs them all,
    `projector:NAME[,NAME...]` only those (a process of their own for the
    busiest)."""
    chosen: list[Projection] = []
    for role in roles:
        kind, _, names = role.partition(":")
        if kind != PROJECTOR_ROLE:
            continue
        chosen += ALL_PROJECTIONS if not names else [by_name(n) for n in names.split(",")]
    return list(dict.fromkeys(chosen))


async def run_workers(
    container: Container, stop: asyncio.Event, roles: Sequence[str] = ("relay", "projector"),
    on_running: Callable[[], None] | None = None,
) -> None:
    """Run the roles until `stop` is set or one of them fails; `on_running`
    is called once they all run."""
    assert container.nats_url is not None, "workers need NATS_URL"
    bus = container.settings.bus
    nc = await nats.connect(
        container.nats_url,
        connect_timeout=NATS_CONNECT_TIMEOUT_S,
        max_reconnect_attempts=-1,
        name="smsledger-workers",
    )
    try:
        js = nc.jetstream()
        settings = stream_settings(container.settings.bus)
        await ensure_stream(js, settings)
        tasks = []
        if "relay" in roles:
            relay = Relay(
                container.pool,
                container.app.recorder.events_table_name,  # type: ignore[attr-defined]
                container.app.mapper,
                js,
                RelayPositions(container.pool),
                subject_prefix=bus.subject_prefix,
                section_size=bus.relay_section_size,
            )
            tasks.append(asyncio.create_task(relay.run(stop), name="relay"))
        for projection in projections_of(roles):
            runner = ProjectionRunner(
                projection, container.pool, max_deliveries=bus.projection_max_deliveries
            )
            tasks.append(asyncio.create_task(
                runner.run(js, stop, stream=settings.name,
                           subject_prefix=bus.subject_prefix,
                           batch_size=bus.projection_batch_size),
                name=f"projection:{projection.name}",
            ))
        if "dispatcher" in roles:
            worker = build_dispatcher(container)
            tasks.append(asyncio.create_task(
                worker.run(js, stop, stream=settings.name, subject_prefix=bus.subject_prefix,
                           batch_size=bus.dispatch_batch_size),
                name="dispatcher",
            ))
        if "webhooks" in roles:
            tasks += start_webhooks(container, js, stop, settings.name)
        if "auto-topup" in roles:
            tasks.append(asyncio.create_task(
                run_auto_topup(container.auto_topup, stop), name="auto-topup"))
        if "campaigns" in roles:
            tasks.append(asyncio.create_task(
                run_campaign_executor(container.crm.executor, stop), name="campaigns"
            ))
            tasks.append(asyncio.create_task(
                run_batch_completer(container.crm.completer, stop), name="campaigns:completer"
            ))
        if on_running is not None:
            on_running()
        await _until_stopped_or_failed(stop, tasks)
    finally:
        # Close, not drain: every batch is acked only after its commit, so
        # whatever is in flight now is simply redelivered to the next run.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), NATS_CLOSE_TIMEOUT_S)


def start_webhooks(
    container: Container, js: JetStreamContext, stop: asyncio.Event, stream: str
) -> list[asyncio.Task[None]]:
    """The webhook consumer (envelopes to queued deliveries) and the sender."""
    bus, hooks = container.settings.bus, container.settings.webhooks
    intake = ProjectionRunner(
        WebhookIntake(), container.pool, max_deliveries=bus.projection_max_deliveries
    )
    sender = WebhookSender(
        container.database_url, container.webhook_guard, hooks
    )
    return [
        asyncio.create_task(
            intake.run(js, stop, stream=stream, subject_prefix=bus.subject_prefix,
                       batch_size=hooks.batch_size),
            name="webhooks:intake",
        ),
        asyncio.create_task(sender.run(stop), name="webhooks:sender"),
    ]


def build_dispatcher(container: Container) -> DispatcherWorker:
    clock = SystemClock()
    carriers = build_carriers(container.settings.bus)
    index = PostgresReceiptIndex(container.pool)
    dispatcher = Dispatcher(
        container.app, container.outcomes, RouteBook(load_routes(container.pool)), carriers,
        PostgresDispatchClaims(container.pool), index, clock,
        replies=PostgresReplyRoutes(container.pool),
        owner=f"{socket.gethostname()}:{os.getpid()}",
    )
    collector = ReceiptCollector(container.receipts, container.inbound)
    return DispatcherWorker(dispatcher, carriers, collector)


def build_carriers(bus: BusSettings) -> dict[str, Carrier]:
    """The carriers by name: the simulator, the sandbox's simulator and any
    configured SMPP carriers."""
    carriers: dict[str, Carrier] = {
        SIMULATED_CARRIER: SimulatedCarrier(SimulatorSettings(
            receipt_delay_s=bus.simulator_receipt_delay_s,
            failure_share=bus.simulator_failure_share,
        )),
        SANDBOX_CARRIER: SimulatedCarrier(
            SimulatorSettings(receipt_delay_s=SANDBOX_RECEIPT_DELAY_S, failure_share=0.0),
            name=SANDBOX_CARRIER,
        ),
    }
    for smpp in parse_smpp_urls(bus.smpp_carriers):
        carriers[smpp.name] = SmppCarrier(smpp)
    return carriers


async def _until_stopped_or_failed(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("worker %s failed", task.get_name(), exc_info=task.exception())
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), STOP_TIMEOUT_S)


class WorkerThread:
    """Runs the workers' event loop in a thread beside the API server."""

    def __init__(self, container: Container, roles: Sequence[str]) -> None:
        self._container = container
        self._roles = roles
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="smsledger-workers", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=NATS_CONNECT_TIMEOUT_S)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=STOP_TIMEOUT_S + 5)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await run_workers(self._container, self._stop, self._roles)

        try:
            asyncio.run(main())
        except Exception:
            log.exception("the workers stopped on an error")


# How often the child looks at the parent's stop flag.
STOP_POLL_S = 0.2


class WorkerProcess(SupervisedProcess):
    """Runs the workers in a child process of their own.

    The relay, the projections and the dispatcher are CPU-bound Python: in
    the API's process they would share one interpreter lock with every
    request. A child process gets a core of its own; it builds its own
    container (pools, caches) from the same settings, as a separate
    deployment of the roles would.
    """

    def __init__(
        self, settings: Settings, database_url: str, nats_url: str, roles: Sequence[str]
    ) -> None:
        super().__init__(
            _worker_process_main, (settings, database_url, nats_url, tuple(roles)),
            name="smsledger-workers",
        )


def supervised_workers(
    settings: Settings, database_url: str, nats_url: str, groups: Sequence[Sequence[str]]
) -> Supervisor:
    """A supervisor of one WorkerProcess per group of roles, not started yet."""
    return Supervisor(
        lambda roles: WorkerProcess(settings, database_url, nats_url, roles), groups
    )


def _worker_process_main(
    settings: Settings, database_url: str, nats_url: str, roles: tuple[str, ...],
    stop_flag: ProcessEvent, running: Connection,
) -> None:
    # Ctrl-C reaches the whole process group, and a service manager may
    # signal every process of the group: the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent_pid = os.getppid()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    container = build(settings, database_url, nats_url)

    async def main() -> None:
        stop = asyncio.Event()

        async def watch_parent() -> None:
            # A parent killed outright never sets the flag; orphaned, we stop.
            while not stop_flag.is_set() and os.getppid() == parent_pid:
                await asyncio.sleep(STOP_POLL_S)
            stop.set()

        def report_running() -> None:
            with contextlib.suppress(OSError):  # the parent stopped listening: it is stopping
                running.send(True)

        watcher = asyncio.create_task(watch_parent())
        try:
            await run_workers(container, stop, roles, on_running=report_running)
        finally:
            watcher.cancel()

    try:
        asyncio.run(main())
    finally:
        running.close()
        container.close()
