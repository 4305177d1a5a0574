"""deliver_sm from the SMSC: receipts and MO messages, handed to the application.

The reader only decodes and queues; one worker calls the application's handler
and only then answers deliver_sm_resp. So the reader never waits on the
application (a submit_sm_resp behind a receipt is still read at once), and a
deliver_sm is acknowledged only once the application has it: if we stop
first, the SMSC delivers it again. A handler that fails, or a full queue, is
answered ESME_RX_T_APPN, which asks the SMSC to retry later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import smpp34

from adapters.carriers.smpp.pdu import Command, Frame, Status
from adapters.carriers.smpp.receipts import PartTracker, is_receipt, parse_receipt
from adapters.carriers.smpp.session import SmppSession
from adapters.carriers.smpp.text import (
    DATA_CODING_UCS2,
    ESM_CLASS_UDHI,
    decode_text,
    strip_udh,
)
from application.delivery.carriers import (
    DeliveryReceipt,
    InboundHandler,
    InboundMessage,
    ReceiptHandler,
)

log = logging.getLogger(__name__)

TLV_MESSAGE_PAYLOAD = 0x0424
TON_INTERNATIONAL = 1


@dataclass(frozen=True, slots=True)
class _Deliver:
    session: SmppSession
    sequence: int
    message: smpp34.DeliverSm
    parts_in_flight: bool  # a multipart part was awaiting its resp when this was read


@dataclass(frozen=True, slots=True)
class _Emit:
    receipt: DeliveryReceipt  # a multipart message decided by a receipt read earlier


class InboundDispatcher:
    def __init__(self, carrier: str, queue_size: int, tracker: PartTracker) -> None:
        self._carrier = carrier
        self._queue_size = queue_size
        self._tracker = tracker
        # Unbounded as a queue, bounded in use: offer() refuses deliver_sm past
        # queue_size, and emits are at most one per orphan receipt kept.
        self._queue: asyncio.Queue[_Deliver | _Emit] = asyncio.Queue()
        self._on_receipt: ReceiptHandler | None = None
        self._on_inbound: InboundHandler | None = None
        self._worker: asyncio.Task[None] | None = None
        self._between_items = asyncio.Event()  # the worker holds no item right now
        self._between_items.set()

    def start(self, on_receipt: ReceiptHandler, on_inbound: InboundHandler) -> None:
        self._on_receipt, self._on_inbound = on_receipt, on_inbound
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name=f"smpp-inbound-{self._carrier}")

    async def stop(self, grace_s: float) -> None:
        """Let the item in hand finish (up to `grace_s`), then end the worker.

        Items still queued are dropped unanswered: the SMSC delivers them again.
        """
        if self._worker is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._between_items.wait(), grace_s)
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None
        self._between_items.set()
        self._queue = asyncio.Queue()  # unanswered: the SMSC sends them again

    def offer(self, session: SmppSession, frame: Frame, parts_in_flight: bool) -> None:
        """Called by the reader for each deliver_sm; never blocks."""
        try:
            message = smpp34.decode(frame.raw)
        except smpp34.SmppError as exc:
            log.warning("%s: undecodable deliver_sm: %s", self._carrier, exc)
            session.respond(Command.DELIVER_SM_RESP, frame.sequence, Status.RSYSERR, b"\0")
            return
        if not isinstance(message, smpp34.DeliverSm):
            session.respond(Command.GENERIC_NACK, frame.sequence, Status.RINVCMDID)
            return
        if self._queue.qsize() >= self._queue_size or self._worker is None:
            log.warning("%s: inbound queue full; asking the SMSC to retry", self._carrier)
            session.respond(Command.DELIVER_SM_RESP, frame.sequence, Status.RX_T_APPN, b"\0")
            return
        self._queue.put_nowait(_Deliver(session, frame.sequence, message, parts_in_flight))

    def emit(self, receipt: DeliveryReceipt) -> None:
        self._queue.put_nowait(_Emit(receipt))

    async def _run(self) -> None:
        while True:  # until stop() cancels it; each turn takes one queued item
            item = await self._queue.get()
            self._between_items.clear()
            if isinstance(item, _Emit):
                await self._call_receipt(item.receipt)
            else:
                status = await self._handle(item)
                item.session.respond(Command.DELIVER_SM_RESP, item.sequence, status, b"\0")
            self._between_items.set()

    async def _handle(self, item: _Deliver) -> int:
        message = item.message
        if is_receipt(message.esm_class):
            receipt = parse_receipt(self._carrier, _receipt_text(message), message.tlvs)
            if receipt is None:
                # Acknowledged all the same: a receipt naming no message cannot
                # be matched however often the SMSC sends it again.
                log.warning("%s: receipt without message id: %r", self._carrier, message)
                return Status.ROK
            return await self._receipt(receipt, item.parts_in_flight)
        assert self._on_inbound is not None
        try:
            await self._on_inbound(inbound_message(self._carrier, message, datetime.now(UTC)))
        except Exception:
            log.exception("%s: inbound handler failed; the SMSC will retry", self._carrier)
            return Status.RX_T_APPN
        return Status.ROK

    async def _receipt(self, receipt: DeliveryReceipt, parts_in_flight: bool) -> int:
        is_part, decided = self._tracker.match(receipt)
        if is_part:
            return await self._call_receipt(decided) if decided else Status.ROK
        if parts_in_flight:
            # Possibly a part whose submit_sm_resp is still on its way: kept, so
            # that registering the part's id matches it to its message.
            self._tracker.keep_orphan(receipt)
        # Unknown ids go to the application as they are (it parks them): this
        # is a single-part message whose submit_sm_resp we have not read yet.
        return await self._call_receipt(receipt)

    async def _call_receipt(self, receipt: DeliveryReceipt) -> int:
        assert self._on_receipt is not None
        try:
            await self._on_receipt(receipt)
        except Exception:
            log.exception("%s: receipt handler failed; the SMSC will retry", self._carrier)
            return Status.RX_T_APPN
        return Status.ROK


def _payload(message: smpp34.DeliverSm) -> bytes:
    if message.short_message:
        return message.short_message
    for tlv in message.tlvs:
        if tlv.tag == TLV_MESSAGE_PAYLOAD:
            return tlv.value
    return b""


def _receipt_text(message: smpp34.DeliverSm) -> str:
    data = _payload(message)
    # Receipt text is ASCII in practice; Latin-1 reads any byte and keeps it.
    if message.data_coding == DATA_CODING_UCS2:
        return data.decode("utf-16-be", "replace")
    return data.decode("latin-1")


def e164(address: str, ton: int) -> str:
    """International numbers as +digits; others (short codes, names) as sent."""
    if ton == TON_INTERNATIONAL and address.isdigit():
        return "+" + address
    return address


def inbound_message(carrier: str, message: smpp34.DeliverSm, now: datetime) -> InboundMessage:
    data = _payload(message)
    if message.esm_class & ESM_CLASS_UDHI:
        _, data = strip_udh(data)
    # The sender as written, with its type and plan: the application reads it
    # into E.164 with the route's country (many SMSCs send digits, TON 0).
    return InboundMessage(
        carrier,
        e164(message.source_addr, message.source_addr_ton),
        e164(message.destination_addr, message.dest_addr_ton),
        decode_text(data, message.data_coding),
        now,
        source_ton=message.source_addr_ton,
        source_npi=message.source_addr_npi,
    )
