"""What a message's outcome does to the money held for it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class SettlementKind(StrEnum):
    CAPTURE = "capture"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class SettlementItem:
    """Capture or release one message's share of a reservation."""

    reservation_id: str
    message_id: UUID
    captured_micros: int
    released_micros: int

    def __post_init__(self) -> None:
        assert self.captured_micros >= 0 and self.released_micros >= 0

    @property
    def amount_micros(self) -> int:
        return self.captured_micros + self.released_micros
