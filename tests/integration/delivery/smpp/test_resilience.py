"""Windowing, throttling, a dropped connection and early receipts, against a
real SMSC (smpp34's server) reached directly or through a cuttable TCP link."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import pytest

from application.delivery.carriers import SubmitRequest, SubmitResult, TemporaryCarrierError
from tests.integration.delivery.smpp.conftest import CarrierFactory
from tests.support.smsc import CuttableLink, ScriptedSmsc, eventually

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


def request(body: str = "hello", *, receipt: bool = False) -> SubmitRequest:
    return SubmitRequest(uuid.uuid4(), "+233200000001", "+233500000000", body, "GSM-7", 1, receipt)


async def test_window_holds_at_most_window_size_submits_in_flight(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.hold = True
    carrier, _ = await carriers(window_size=4)

    tasks = [asyncio.create_task(carrier.submit(request())) for _ in range(9)]
    await eventually(lambda: len(smsc.held) == 4)
    await asyncio.sleep(0.2)  # time enough for a fifth to go out, if the window let it
    assert len(smsc.held) == 4 and not any(t.done() for t in tasks)

    smsc.hold = False
    for event in smsc.held[:4]:
        event.accept("held")
    results = await asyncio.gather(*tasks)
    assert all(r.accepted for r in results) and len(smsc.submits) == 9


async def test_disconnect_mid_window_fails_in_flight_then_reconnects(
    smsc: ScriptedSmsc, link: CuttableLink, carriers: CarrierFactory
) -> None:
    smsc.hold = True
    carrier, _ = await carriers(port=link.port, window_size=10)
    tasks = [asyncio.create_task(carrier.submit(request(f"m{i}"))) for i in range(15)]
    await eventually(lambda: len(smsc.held) == 10)  # the window is full, 5 wait for a slot

    smsc.hold = False
    link.cut()  # RST both ways, with ten submit_sm unanswered
    results = await asyncio.gather(*tasks, return_exceptions=True)

    in_flight, waiting = results[:10], results[10:]
    # In flight: the SMSC may or may not have taken them, so they are not
    # re-sent here; the dispatcher gets a retryable error at once.
    assert all(isinstance(r, TemporaryCarrierError) for r in in_flight), in_flight
    assert all("connection lost" in str(r) for r in in_flight)
    # Waiting for a slot: refused while unbound, or sent after the re-bind.
    for r in waiting:
        assert isinstance(r, TemporaryCarrierError) or (isinstance(r, SubmitResult) and r.accepted)
    assert await carrier.wait_bound(5)
    await eventually(lambda: len(smsc.sessions) == 2)  # a new bind on a new connection
    later = await asyncio.gather(*(carrier.submit(request()) for _ in range(5)))
    assert all(r.accepted for r in later)
    assert {s.session_id for s in smsc.submits[-5:]} == {smsc.sessions[1].session_id}


async def test_throttled_submit_is_retried_and_succeeds(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.throttle_first = 3
    carrier, _ = await carriers(throttle_min_s=0.05, throttle_max_s=0.2)

    started = time.monotonic()
    result = await carrier.submit(request())

    assert result.accepted and result.carrier_message_id == smsc.submits[-1].message_id
    assert len(smsc.submits) == 4 and smsc.throttled == 3
    assert {s.short_message for s in smsc.submits} == {b"hello"}  # the same submit, resent
    # Backoff 0.05, 0.1, 0.2 s, each jittered to half at least.
    assert time.monotonic() - started >= (0.05 + 0.1 + 0.2) / 2


async def test_throttling_that_does_not_end_is_a_temporary_error(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.throttle_first = 1_000
    carrier, _ = await carriers(throttle_max_retries=2)

    with pytest.raises(TemporaryCarrierError, match="throttled"):
        await carrier.submit(request())
    assert len(smsc.submits) == 3  # the first try and two retries


async def test_throttling_pauses_the_other_submits_too(
    smsc: ScriptedSmsc, carriers: CarrierFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "adapters.carriers.smpp")
    smsc.throttle_first = 1
    carrier, _ = await carriers(throttle_min_s=0.3, throttle_max_s=0.3)

    started = time.monotonic()  # before the pause can have begun
    first = asyncio.create_task(carrier.submit(request("first")))
    await eventually(lambda: any("pausing submits" in r.getMessage() for r in caplog.records))
    second = await carrier.submit(request("second"))  # sent during the pause

    assert second.accepted and (await first).accepted
    assert time.monotonic() - started >= 0.15  # waited out the pause (0.3 s, jittered)


async def test_receipt_before_submit_resp_is_recorded(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.receipts, smsc.receipt_before_resp = "text", True
    carrier, recorder = await carriers()

    result = await carrier.submit(request(receipt=True))
    recorder.log.append("submit returned")

    assert result.accepted
    assert recorder.log == [f"receipt {result.carrier_message_id}", "submit returned"]
    assert recorder.receipts[0].carrier_state == "DELIVRD"


async def test_max_messages_per_second_paces_submits(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    carrier, _ = await carriers(max_messages_per_second=50)

    started = time.monotonic()
    results = await asyncio.gather(*(carrier.submit(request()) for _ in range(26)))

    assert all(r.accepted for r in results)
    assert time.monotonic() - started >= 0.5  # 25 intervals of 20 ms


async def test_stop_lets_submits_in_flight_finish_then_unbinds(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.hold = True
    carrier, _ = await carriers(window_size=2, stop_timeout_s=5.0)
    tasks = [asyncio.create_task(carrier.submit(request())) for _ in range(3)]
    await eventually(lambda: len(smsc.held) == 2)

    stopping = asyncio.create_task(carrier.stop())
    await asyncio.sleep(0.1)
    for event in smsc.held:
        event.accept("late")  # answered while the carrier is stopping
    await asyncio.wait_for(stopping, 5)

    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [getattr(r, "accepted", None) for r in results[:2]] == [True, True]
    assert isinstance(results[2], TemporaryCarrierError)  # never sent: it was stopping
    assert len(smsc.submits) == 2 and not carrier.is_bound


async def test_stop_does_not_wait_forever_for_a_silent_smsc(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.hold = True
    carrier, _ = await carriers(window_size=2, stop_timeout_s=0.3)
    tasks = [asyncio.create_task(carrier.submit(request())) for _ in range(4)]
    await eventually(lambda: len(smsc.held) == 2)

    await asyncio.wait_for(carrier.stop(), 0.3 + 2.0 + 1.0)  # drain, unbind, slack

    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, TemporaryCarrierError) for r in results)
    assert not carrier.is_bound


async def test_enquire_link_keeps_the_link_and_finds_a_dead_one(
    smsc: ScriptedSmsc, link: CuttableLink, carriers: CarrierFactory
) -> None:
    carrier, _ = await carriers(port=link.port, enquire_link_interval_s=0.1, submit_timeout_s=0.5)
    enquire_link = 0x15
    await eventually(lambda: link.sent_by_carrier.count(enquire_link) >= 4, timeout_s=3)
    assert carrier.is_bound  # each was answered in time, or the link would be down

    link.freeze()  # the TCP connection stays up; nothing gets through any more
    await eventually(lambda: not carrier.is_bound, timeout_s=2)
    assert "enquire_link_resp" in carrier.last_error

    assert await carrier.wait_bound(5)  # a new connection, which the link carries
    assert (await carrier.submit(request())).accepted


async def test_late_submit_resp_is_a_temporary_error_and_keeps_the_bind(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.hold = True
    carrier, _ = await carriers(submit_timeout_s=0.3)

    with pytest.raises(TemporaryCarrierError, match=r"no submit_sm_resp within 0\.3s"):
        await carrier.submit(request())

    assert carrier.is_bound  # a slow answer is not a broken link
    smsc.hold = False
    assert (await carrier.submit(request())).accepted
