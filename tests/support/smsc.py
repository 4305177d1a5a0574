"""Test doubles around real SMPP peers: the smpp34 SMSC with scripted answers,
a TCP link that a test can cut, and recorders for the carrier's handlers.

The SMSC is smpp34's server (Rust/tokio SMPP 3.4 implementation); this module
only decides its answers (accept, reject, hold, which receipts to send).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import smpp34

from application.delivery.carriers import DeliveryReceipt, InboundMessage
from domain.messaging.encoding import GSM7_BASIC_CHARS

# GSM 03.38 extension table (3GPP TS 23.038, 6.2.1.1), written out here rather
# than taken from the adapter so that the tests check it against the standard.
GSM_EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
                 0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}  # fmt: skip
GSM_BASIC = {code: ch for code, ch in enumerate(GSM7_BASIC_CHARS[:27])} | {
    code + 28: ch for code, ch in enumerate(GSM7_BASIC_CHARS[27:])
}


def gsm_decode(data: bytes) -> str:
    out, i = [], 0
    while i < len(data):
        if data[i] == 0x1B:
            out.append(GSM_EXTENSION[data[i + 1]])
            i += 2
        else:
            out.append(GSM_BASIC[data[i]])
            i += 1
    return "".join(out)


def gsm_encode(text: str) -> bytes:
    basic = {ch: code for code, ch in GSM_BASIC.items()}
    extension = {ch: code for code, ch in GSM_EXTENSION.items()}
    return b"".join(
        bytes((basic[ch],)) if ch in basic else bytes((0x1B, extension[ch])) for ch in text
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait until `predicate()` holds, polling; fail after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


@dataclass
class Submit:
    """One submit_sm as the SMSC received it."""

    session_id: str
    source_addr: str
    source_addr_ton: int
    destination_addr: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    message_id: str = ""


def receipt_text(message_id: str, stat: str) -> bytes:
    now = datetime.now(UTC).strftime("%y%m%d%H%M")
    return (
        f"id:{message_id} sub:001 dlvrd:001 submit date:{now} done date:{now} "
        f"stat:{stat} err:000 text:hello"
    ).encode()


RECEIPT_ATTEMPTS = 600
RECEIPT_RETRY_S = 0.1
RECEIPT_ANSWER_S = 2.0


@dataclass
class ScriptedSmsc:
    """smpp34.Server plus the answers a test asks for."""

    port: int
    hold: bool = False  # leave submit_sm unanswered (kept in `held`)
    throttle_first: int = 0  # answer ESME_RTHROTTLED to this many submit_sm first
    reject: dict[str, int] = field(default_factory=dict)  # destination -> command_status
    receipts: str = ""  # "", "text", "tlv" or "both"
    receipt_stat: str = "DELIVRD"
    receipt_state: int = 2  # message_state TLV value
    receipt_body: Callable[[str], bytes] | None = None  # custom receipt text per id
    receipt_before_resp: bool = False
    # Otherwise the receipt waits this long after accept(): smpp34 writes the
    # submit_sm_resp and the deliver_sm from separate tasks, and the delay puts
    # them on the wire in the usual order (resp, then receipt).
    receipt_delay_s: float = 0.05
    # As real SMSCs do, a receipt whose submitting session is gone goes to
    # the newest live bind of the account, waiting for one if there is none.
    receipts_to_any_bind: bool = False
    submits: list[Submit] = field(default_factory=list)
    sessions: list[smpp34.Esme] = field(default_factory=list)
    held: list[smpp34.SubmitSmEvent] = field(default_factory=list)
    throttled: int = 0

    def __post_init__(self) -> None:
        self.server = smpp34.Server("127.0.0.1", self.port, system_id="TESTSMSC")
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.start()
        self._loop = asyncio.create_task(self._serve())

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._loop] if self._loop else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, smpp34.SmppError):
                await task
        self.held.clear()
        await self.server.stop()

    async def _serve(self) -> None:
        while True:  # until stop() cancels it
            event = await self.server.next()
            if isinstance(event, smpp34.Esme):
                self.sessions.append(event)
            elif isinstance(event, smpp34.SubmitSmEvent):
                await self._on_submit(event)

    async def _on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        record = Submit(
            event.session_id, event.source_addr, event.source_addr_ton,
            event.destination_addr, event.esm_class, event.data_coding,
            event.registered_delivery, event.short_message,
        )  # fmt: skip
        self.submits.append(record)
        if self.hold:
            self.held.append(event)
            return
        if self.throttled < self.throttle_first:
            self.throttled += 1
            event.reject(smpp34.ESME_RTHROTTLED)
            return
        if event.destination_addr in self.reject:
            event.reject(self.reject[event.destination_addr])
            return
        record.message_id = f"{next(self._ids):010d}"
        wants_receipt = bool(event.registered_delivery & 1) and bool(self.receipts)
        if wants_receipt and self.receipt_before_resp:
            # The deliver_sm is answered before the submit_sm_resp leaves.
            await self._send_receipt(record)
        event.accept(record.message_id)
        if wants_receipt and not self.receipt_before_resp:
            task = asyncio.create_task(self._send_receipt(record, self.receipt_delay_s))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def session(self, session_id: str) -> smpp34.Esme:
        return next(s for s in reversed(self.sessions) if s.session_id == session_id)

    async def _send_receipt(self, record: Submit, delay_s: float = 0.0) -> None:
        await asyncio.sleep(delay_s)
        text = b""
        if self.receipts in ("text", "both"):
            make = self.receipt_body or (lambda mid: receipt_text(mid, self.receipt_stat))
            text = make(record.message_id)
        tlvs = []
        if self.receipts in ("tlv", "both"):
            tlvs = [
                smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, record.message_id.encode() + b"\0"),
                smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes((self.receipt_state,))),
            ]
        if not self.receipts_to_any_bind:
            await self.session(record.session_id).deliver_sm(
                record.source_addr, text, source_addr=record.destination_addr,
                source_addr_ton=1, source_addr_npi=1, esm_class=0x04, tlvs=tlvs,
            )  # fmt: skip
            return
        for _ in range(RECEIPT_ATTEMPTS):
            for session in [self.session(record.session_id), *reversed(self.sessions)]:
                with contextlib.suppress(smpp34.SmppError, OSError, RuntimeError, TimeoutError):
                    await asyncio.wait_for(session.deliver_sm(
                        record.source_addr, text, source_addr=record.destination_addr,
                        source_addr_ton=1, source_addr_npi=1, esm_class=0x04, tlvs=tlvs,
                    ), RECEIPT_ANSWER_S)  # fmt: skip
                    return
            await asyncio.sleep(RECEIPT_RETRY_S)


class CuttableLink:
    """A TCP relay from the carrier to the SMSC, for network faults: cut()
    drops its connections abruptly (RST), as a failing network or a crashing
    SMSC would; freeze() silently stops carrying bytes on them, as a dead NAT
    or a hung SMSC would. It also notes the command_id of every PDU the carrier
    sends, to see its keep-alives on the wire."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._writers: list[asyncio.StreamWriter] = []
        self._frozen: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent_by_carrier: list[int] = []
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers += [writer, up_writer]
        for source, sink, sniff in ((reader, up_writer, True), (up_reader, writer, False)):
            task = asyncio.create_task(self._pipe(source, sink, sniff))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, sniff: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
            while True:  # one PDU a turn, until either side closes
                header = await source.readexactly(16)
                length, command_id = struct.unpack(">II", header[:8])
                body = await source.readexactly(length - 16)
                if sniff:
                    self.sent_by_carrier.append(command_id)
                if sink not in self._frozen:
                    sink.write(header + body)
                    await sink.drain()
        sink.close()

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    def freeze(self) -> None:
        self._frozen.update(self._writers)

    async def stop(self) -> None:
        self._server.close()
        self.cut()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


class Recorder:
    """The carrier's handlers, keeping what they were given and in which order."""

    def __init__(self) -> None:
        self.receipts: list[DeliveryReceipt] = []
        self.inbound: list[InboundMessage] = []
        self.log: list[str] = []

    async def on_receipt(self, receipt: DeliveryReceipt) -> None:
        self.receipts.append(receipt)
        self.log.append(f"receipt {receipt.carrier_message_id}")

    async def on_inbound(self, message: InboundMessage) -> None:
        self.inbound.append(message)
        self.log.append("inbound")
