"""The dispatcher role's part of the composition root: the carriers by name,
the dispatcher that sends through them, and the receipt side that settles
what they report."""

from __future__ import annotations

import asyncio
import os
import socket

from nats.js import JetStreamContext

from adapters.bootstrap.container import Container
from adapters.carriers.simulated import SimulatedCarrier, SimulatorSettings
from adapters.carriers.smpp.carrier import SmppCarrier
from adapters.clock import SystemClock
from adapters.config.carriers import CarrierSettings
from adapters.dispatcher.worker import DispatcherWorker, ReceiptCollector
from adapters.postgres.dispatch import (
    PostgresDispatchClaims,
    PostgresReceiptIndex,
    PostgresReplyRoutes,
    load_routes,
)
from application.delivery.carriers import Carrier
from application.delivery.dispatching import Dispatcher
from application.delivery.routing import SANDBOX_CARRIER, SIMULATED_CARRIER, RouteBook

# Long enough for the dispatcher to index the submission before its receipt
# comes back (an earlier receipt is parked and retried a second later), short
# enough that a scheduled sandbox message reads `delivered` almost as soon as
# it is due. (Sandbox messages sent now never get here: they are settled as
# they are accepted, domain/messaging/sandbox.py.)
SANDBOX_RECEIPT_DELAY_S = 0.1


def start_dispatcher(
    container: Container, js: JetStreamContext, stop: asyncio.Event, stream: str
) -> list[asyncio.Task[None]]:
    bus = container.settings.bus
    worker = build_dispatcher(container)
    return [asyncio.create_task(
        worker.run(js, stop, stream=stream, subject_prefix=bus.subject_prefix,
                   batch_size=bus.dispatch_batch_size),
        name="dispatcher",
    )]


def build_dispatcher(container: Container) -> DispatcherWorker:
    carriers = build_carriers(container.settings.carriers)
    dispatcher = Dispatcher(
        container.app, container.outcomes, RouteBook(load_routes(container.pool)), carriers,
        PostgresDispatchClaims(container.pool), PostgresReceiptIndex(container.pool),
        SystemClock(), replies=PostgresReplyRoutes(container.pool),
        owner=f"{socket.gethostname()}:{os.getpid()}",
    )
    collector = ReceiptCollector(container.receipts, container.inbound)
    return DispatcherWorker(dispatcher, carriers, collector)


def build_carriers(settings: CarrierSettings) -> dict[str, Carrier]:
    """The carriers by name: the simulator, the sandbox's simulator and any
    configured SMPP carriers."""
    carriers: dict[str, Carrier] = {
        SIMULATED_CARRIER: SimulatedCarrier(settings.simulator),
        SANDBOX_CARRIER: SimulatedCarrier(
            SimulatorSettings(receipt_delay_s=SANDBOX_RECEIPT_DELAY_S, failure_share=0.0),
            name=SANDBOX_CARRIER,
        ),
    }
    for smpp in settings.smpp:
        carriers[smpp.name] = SmppCarrier(smpp)
    return carriers
