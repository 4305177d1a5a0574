"""Helpers for tests that need a JetStream stream of their own."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace

import nats
from nats.js import JetStreamContext

from adapters.bootstrap.container import Container
from adapters.config.settings import BusSettings
from adapters.jetstream.streams import ensure_stream, stream_settings
from tests.conftest import RUN_ID

_counter = itertools.count(1)


def isolated_bus(container: Container) -> Container:
    """The container with a stream name and subject prefix no other test uses."""
    n = next(_counter)
    bus: BusSettings = replace(
        container.settings.bus,
        stream_name=f"SMSLEDGER_TEST_{RUN_ID}_{n}",
        subject_prefix=f"smsledger_test_{RUN_ID}_{n}",
    )
    return replace(container, settings=replace(container.settings, bus=bus))


@contextlib.asynccontextmanager
async def jetstream(container: Container) -> AsyncIterator[JetStreamContext]:
    assert container.nats_url
    nc = await nats.connect(container.nats_url)
    js = nc.jetstream()
    settings = stream_settings(container.settings.bus)
    await ensure_stream(js, settings)
    try:
        yield js
    finally:
        with contextlib.suppress(Exception):
            await js.delete_stream(settings.name)
        await nc.close()
