"""A recipient of a message, once validated, rendered, measured and priced."""

from __future__ import annotations

from typing import NamedTuple
from uuid import UUID


class Recipient(NamedTuple):
    """A recipient that passed validation, priced and ready to accept. A
    tuple: a bulk send makes 10,000 of them per request."""

    message_id: UUID
    destination: str
    country: str
    body: str
    encoding: str
    segments: int
    price_micros: int
