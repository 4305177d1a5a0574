"""Bind, submit, receipts and MO against a real SMSC (smpp34's server)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime

import pytest

from application.delivery.carriers import InboundMessage, SubmitRequest, TemporaryCarrierError
from tests.integration.delivery.smpp.conftest import CarrierFactory, NetSmppSmsc
from tests.support.smsc import Recorder, ScriptedSmsc, eventually, gsm_encode

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


def request(to: str = "+233200000001") -> SubmitRequest:
    return SubmitRequest(uuid.uuid4(), to, "SMSLEDGER", "Hello from smsledger", "GSM-7", 1, True)


async def test_binds_submits_and_parses_a_text_receipt(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.receipts = "text"
    carrier, recorder = await carriers()
    assert carrier.is_bound

    result = await carrier.submit(request())

    assert result.accepted and result.carrier_message_id == smsc.submits[0].message_id
    sent = smsc.submits[0]
    assert (sent.destination_addr, sent.source_addr, sent.source_addr_ton) == (
        "233200000001", "SMSLEDGER", 5,
    )  # fmt: skip
    assert (sent.registered_delivery, sent.esm_class, sent.data_coding) == (1, 0, 0)
    assert sent.short_message == gsm_encode("Hello from smsledger")
    await eventually(lambda: len(recorder.receipts) == 1)
    receipt = recorder.receipts[0]
    assert (receipt.carrier, receipt.carrier_message_id) == ("smpp-test", result.carrier_message_id)
    assert (receipt.carrier_state, receipt.error_code) == ("DELIVRD", "000")
    assert receipt.done_at is not None and receipt.done_at.tzinfo is UTC
    assert abs((datetime.now(UTC) - receipt.done_at).total_seconds()) < 120
    assert receipt.raw.startswith(f"id:{result.carrier_message_id} ")


async def test_tlv_receipt_is_parsed(smsc: ScriptedSmsc, carriers: CarrierFactory) -> None:
    smsc.receipts, smsc.receipt_state = "tlv", 5  # UNDELIV, with no text at all
    carrier, recorder = await carriers()

    result = await carrier.submit(request())

    await eventually(lambda: len(recorder.receipts) == 1)
    receipt = recorder.receipts[0]
    assert (receipt.carrier_message_id, receipt.carrier_state) == (
        result.carrier_message_id, "UNDELIV",
    )  # fmt: skip
    assert "tlv 0x0427=05" in receipt.raw


async def test_tlvs_win_over_the_text(smsc: ScriptedSmsc, carriers: CarrierFactory) -> None:
    smsc.receipts, smsc.receipt_state = "both", 3  # text says DELIVRD, TLV says EXPIRED
    smsc.receipt_body = lambda _: b"id:not-this-one stat:DELIVRD err:000"
    carrier, recorder = await carriers()

    result = await carrier.submit(request())

    await eventually(lambda: len(recorder.receipts) == 1)
    receipt = recorder.receipts[0]
    assert (receipt.carrier_message_id, receipt.carrier_state, receipt.error_code) == (
        result.carrier_message_id, "EXPIRED", "000",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "state", "error", "done"),
    [
        ("stat:UNDELIV err:001 id:{id} done date:2405011230 sub:001", "UNDELIV", "001",
         datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("ID:{id} SUB:001 DLVRD:000 SUBMIT DATE:2405011230 DONE DATE:240501123059 "
         "STAT:EXPIRED ERR:000 TEXT:stat:DELIVRD id:x", "EXPIRED", "000",
         datetime(2024, 5, 1, 12, 30, 59, tzinfo=UTC)),
        ("id:{id} stat:DELIVRD", "DELIVRD", "", None),
        ("id:{id} done_date:bogus stat:REJECTD err:", "REJECTD", "", None),
    ],
)  # fmt: skip
async def test_text_receipts_in_any_order_case_and_completeness(
    smsc: ScriptedSmsc,
    carriers: CarrierFactory,
    text: str,
    state: str,
    error: str,
    done: datetime | None,
) -> None:
    smsc.receipts = "text"
    smsc.receipt_body = lambda mid: text.format(id=mid).encode()
    carrier, recorder = await carriers()

    result = await carrier.submit(request())

    await eventually(lambda: len(recorder.receipts) == 1)
    receipt = recorder.receipts[0]
    assert receipt.carrier_message_id == result.carrier_message_id
    assert (receipt.carrier_state, receipt.error_code, receipt.done_at) == (state, error, done)


async def test_refused_submit_keeps_the_status(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.reject["233200000009"] = 0x0B  # ESME_RINVDSTADR
    carrier, _ = await carriers()

    result = await carrier.submit(request(to="+233200000009"))

    assert not result.accepted
    assert result.error_code == "0x0000000B"
    assert "0x0000000B" in result.reason


async def test_mo_message_reaches_on_inbound(smsc: ScriptedSmsc, carriers: CarrierFactory) -> None:
    _, recorder = await carriers()
    await eventually(lambda: len(smsc.sessions) == 1)
    session = smsc.sessions[0]

    await session.deliver_sm(
        "1234", gsm_encode("STOP please {now} €5"), source_addr="233200000002",
        source_addr_ton=1, source_addr_npi=1, dest_addr_ton=3, dest_addr_npi=0,
    )  # fmt: skip
    await session.deliver_sm(
        "1234", "Привет 👋".encode("utf-16-be"), source_addr="233200000003",
        source_addr_ton=1, data_coding=8,
    )  # fmt: skip

    await eventually(lambda: len(recorder.inbound) == 2)
    first, second = recorder.inbound
    assert (first.carrier, first.source, first.destination) == (
        "smpp-test",
        "+233200000002",
        "1234",
    )
    assert first.body == "STOP please {now} €5"
    assert (second.source, second.body) == ("+233200000003", "Привет 👋")
    assert recorder.receipts == []


async def test_inbound_handler_failure_asks_the_smsc_to_retry(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    class Broken(Recorder):
        async def on_inbound(self, message: InboundMessage) -> None:
            raise RuntimeError("database down")

    await carriers(Broken())
    await eventually(lambda: len(smsc.sessions) == 1)
    resp = await smsc.sessions[0].deliver_sm("1234", b"hi", source_addr="233200000002")

    assert resp.command_status == 0x64  # ESME_RX_T_APPN: the SMSC delivers it again


async def test_wrong_password_is_reported_without_hanging(
    net_smpp_smsc: NetSmppSmsc, carriers: CarrierFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "adapters.carriers.smpp")
    started = time.monotonic()
    carrier, _ = await carriers(port=net_smpp_smsc.port, password="wrong")
    assert time.monotonic() - started < 3

    assert not carrier.is_bound
    assert "ESME_RINVPASWD (0x0000000E)" in carrier.last_error
    assert any("ESME_RINVPASWD" in r.getMessage() for r in caplog.records)
    with pytest.raises(TemporaryCarrierError, match="ESME_RINVPASWD"):
        await carrier.submit(request())
    # It keeps trying, with backoff, in case the password is fixed at the SMSC.
    await eventually(lambda: sum("ESME_RINVPASWD" in r.getMessage() for r in caplog.records) >= 3)
    await carrier.stop()
    binds = [line for line in net_smpp_smsc.finish() if line.startswith("BIND")]
    assert len(binds) >= 3 and set(binds) == {"BIND esme 14"}


async def test_the_same_carrier_binds_to_a_second_smsc_implementation(
    net_smpp_smsc: NetSmppSmsc, carriers: CarrierFactory
) -> None:
    carrier, _ = await carriers(port=net_smpp_smsc.port)

    result = await carrier.submit(request())

    assert carrier.is_bound and result.accepted and result.carrier_message_id == "netsmpp-1"
    await carrier.stop()
    assert net_smpp_smsc.finish() == ["BIND esme 0", "SUBMIT 233200000001"]


async def test_a_silent_peer_does_not_hang_start(carriers: CarrierFactory) -> None:
    """A peer that accepts TCP and never answers the bind (a hung SMSC)."""
    handled: list[bool] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):  # takes the bind, answers nothing, until EOF
            pass
        writer.close()
        handled.append(True)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        carrier, _ = await carriers(port=port, connect_timeout_s=0.5, reconnect_min_s=5.0,
                                    reconnect_max_s=5.0)  # fmt: skip
        assert time.monotonic() - started < 2.5
        assert not carrier.is_bound and "cannot connect" in carrier.last_error
        with pytest.raises(TemporaryCarrierError, match="not bound"):
            await carrier.submit(request())
        await carrier.stop()
        await eventually(lambda: len(handled) == 1)  # we hung up; the peer saw EOF
    finally:
        server.close()
        await server.wait_closed()
