"""The carrier port: how the dispatcher hands messages to a carrier and how a
carrier reports back. Implementations live in adapters/carriers/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.messaging.phone import NPI_ISDN, TON_UNKNOWN


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    message_id: UUID
    destination: str  # E.164
    sender: str
    body: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    wants_receipt: bool  # SMPP registered_delivery


@dataclass(frozen=True, slots=True)
class SubmitResult:
    accepted: bool
    carrier_message_id: str = ""  # the carrier's id; for multipart, of the first part
    error_code: str = ""  # verbatim from the carrier, e.g. SMPP command_status
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    carrier: str
    carrier_message_id: str
    carrier_state: str  # verbatim: DELIVRD, UNDELIV, ...
    error_code: str  # verbatim `err:` field or network error
    done_at: datetime | None
    raw: str  # the receipt as received, for support


@dataclass(frozen=True, slots=True)
class InboundMessage:
    carrier: str
    source: str  # the sender's number, as the carrier wrote it
    destination: str  # our number or short code
    body: str
    received_at: datetime
    # How the carrier wrote `source` (SMPP's TON and NPI); an HTTP carrier
    # says nothing, so its numbers are of unknown type.
    source_ton: int = TON_UNKNOWN
    source_npi: int = NPI_ISDN
    route: str | None = None  # the route it came by, when the carrier names it


ReceiptHandler = Callable[[DeliveryReceipt], Awaitable[None]]
InboundHandler = Callable[[InboundMessage], Awaitable[None]]


class TemporaryCarrierError(Exception):
    """The carrier could not take the message now (throttled, disconnected);
    submitting again later may succeed."""


class Carrier(Protocol):
    name: str

    async def start(self, on_receipt: ReceiptHandler, on_inbound: InboundHandler) -> None:
        """Connect (and stay connected); deliver receipts and inbound messages
        to the handlers as they arrive."""
        ...

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        """Hand one message to the carrier. Raise TemporaryCarrierError when
        it may succeed later; return accepted=False when the carrier refused
        it for good."""
        ...

    async def stop(self) -> None: ...
