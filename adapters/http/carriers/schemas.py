"""What HTTP carriers send to their callbacks, and the answer they get."""

from __future__ import annotations

from datetime import datetime

import msgspec


class CarrierReceiptIn(msgspec.Struct):
    """Carriers add fields of their own; only these are read."""

    message_id: str
    status: str
    error_code: str = ""
    done_at: datetime | None = None


class CarrierInboundIn(msgspec.Struct):
    from_: str = msgspec.field(name="from")
    to: str = ""
    body: str = ""
    received_at: datetime | None = None


class CallbackAccepted(msgspec.Struct):
    accepted: bool
