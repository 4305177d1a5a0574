"""A small throughput measurement: 2,000 submits through a window of 10."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from application.delivery.carriers import SubmitRequest
from tests.integration.delivery.smpp.conftest import CarrierFactory
from tests.support.smsc import ScriptedSmsc

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

COUNT = 2_000
WINDOW = 10


async def test_throughput_2000_submits_window_10(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    carrier, _ = await carriers(window_size=WINDOW)
    requests = [
        SubmitRequest(uuid.uuid4(), f"+2332{i:08d}", "SMSLEDGER", f"message {i}", "GSM-7", 1, False)
        for i in range(COUNT)
    ]

    started = time.perf_counter()
    results = await asyncio.gather(*(carrier.submit(r) for r in requests))
    elapsed = time.perf_counter() - started

    rate = COUNT / elapsed
    print(f"\nSMPP throughput: {COUNT} submits, window {WINDOW}: {elapsed:.2f} s, {rate:.0f} msg/s")
    assert all(r.accepted for r in results)
    assert len({r.carrier_message_id for r in results}) == COUNT == len(smsc.submits)
    assert rate > 100  # a floor far below what loopback does, to catch a stall
