"""Response bodies of the read API, as msgspec structs.

Every amount is given in integer micros (the amount of record) and in whole
minor units of the currency (pence, cents), as the seed's billing shows them.
Read models lag the write side by a moment: a message just sent may be
NOT_FOUND for as long as the projections take to see it.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class StatusCounts(msgspec.Struct):
    """Messages per status (every status, zero included)."""

    scheduled: int
    queued: int
    sent: int
    delivered: int
    failed: int
    expired: int
    rejected: int
    cancelled: int


# Messages ------------------------------------------------------------------


class MessageEventOut(msgspec.Struct):
    type: str
    status: str
    carrier_status: str | None
    error_code: str | None
    occurred_at: datetime


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    message_id: str
    status: str
    destination: str
    country: str
    sender: str
    encoding: str
    segments: int
    cost_micros: int
    # A JSON number rendered from the exact micros, as on the send response.
    cost: float
    currency: str
    charge: str  # held, captured, released or none
    carrier_status: str | None
    error_code: str | None
    error_reason: str | None
    client_ref: str | None
    campaign_id: str | None
    sandbox: bool
    accepted_at: datetime
    submitted_at: datetime | None
    delivered_at: datetime | None
    final_at: datetime | None
    updated_at: datetime


class MessageDetailOut(MessageOut, kw_only=True):
    events: list[MessageEventOut]


# Delivery statistics --------------------------------------------------------


class DlrBreakdownOut(msgspec.Struct):
    day: date
    country: str
    counts: StatusCounts
    total: int
    delivery_rate: float | None


class DlrStatsOut(msgspec.Struct):
    totals: StatusCounts
    total: int
    # delivered / (delivered + failed + expired + rejected); null before any.
    delivery_rate: float | None
    median_delivery_ms: int | None
    breakdown: list[DlrBreakdownOut]


# Campaigns -----------------------------------------------------------------


# Inbound -------------------------------------------------------------------


class InboundOut(msgspec.Struct):
    id: str
    direction: str
    carrier: str
    from_: str = msgspec.field(name="from")
    to: str = ""
    body: str = ""
    received_at: datetime | None = None


