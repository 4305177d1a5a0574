"""How many SMS segments a body costs, per GSM 03.38 (3GPP TS 23.038) and UCS-2.

Segments are what the carrier bills, so this count is what a send is priced and
reserved by. It runs once per recipient of a bulk send, which is why the common
case (a plain GSM body) is decided by a single precompiled regex scan in C.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from domain.errors import MessageTooLong


class Encoding(enum.StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """A body's cost: `units` are GSM septets or UCS-2 code units."""

    encoding: Encoding
    units: int
    segments: int


MAX_SEGMENTS: Final = 10

GSM7_SINGLE_SEPTETS: Final = 160
GSM7_MULTIPART_SEPTETS: Final = 153
UCS2_SINGLE_UNITS: Final = 70
UCS2_MULTIPART_UNITS: Final = 67

# The 127 printable positions of the GSM 03.38 default alphabet. Position 0x1B
# (ESC) is left out on purpose: it is the escape to the extension table, not a
# character a sender can type. Position 0x09 is capital Ç per the standard; the
# lower-case ç is not in the alphabet, so a body containing it goes out as UCS-2.
GSM7_BASIC_CHARS: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# Characters reached through the escape, so each costs two septets.
GSM7_EXTENSION_CHARS: Final = "\f^{}\\[~]|€"

_NOT_GSM7_BASIC: Final = re.compile("[^" + re.escape(GSM7_BASIC_CHARS) + "]")
_NOT_GSM7: Final = re.compile("[^" + re.escape(GSM7_BASIC_CHARS + GSM7_EXTENSION_CHARS) + "]")
_GSM7_EXTENSION: Final = re.compile("[" + re.escape(GSM7_EXTENSION_CHARS) + "]")
# Characters outside the Basic Multilingual Plane travel as a surrogate pair.
_OUTSIDE_BMP: Final = re.compile("[\U00010000-\U0010ffff]")

_EMPTY: Final = SegmentCount(Encoding.GSM7, 0, 1)


def count_segments(body: str, *, force_unicode: bool = False) -> SegmentCount:
    """Count the segments `body` is sent as.

    Raises MessageTooLong when it needs more than MAX_SEGMENTS segments.
    """
    if not body:
        return _EMPTY if not force_unicode else SegmentCount(Encoding.UCS2, 0, 1)
    if not force_unicode:
        first_non_basic = _NOT_GSM7_BASIC.search(body)
        if first_non_basic is None:
            return _gsm7_count(body, ())
        start = first_non_basic.start()
        if _NOT_GSM7.search(body, start) is None:
            wide = [m.start() for m in _GSM7_EXTENSION.finditer(body, start)]
            return _gsm7_count(body, wide)
    wide = [m.start() for m in _OUTSIDE_BMP.finditer(body)]
    units = len(body) + len(wide)
    if units <= UCS2_SINGLE_UNITS:
        return SegmentCount(Encoding.UCS2, units, 1)
    segments = _pack(len(body), wide, UCS2_MULTIPART_UNITS)
    return _checked(SegmentCount(Encoding.UCS2, units, segments))


def _gsm7_count(body: str, wide: Sequence[int]) -> SegmentCount:
    units = len(body) + len(wide)
    if units <= GSM7_SINGLE_SEPTETS:
        return SegmentCount(Encoding.GSM7, units, 1)
    segments = _pack(len(body), wide, GSM7_MULTIPART_SEPTETS)
    return _checked(SegmentCount(Encoding.GSM7, units, segments))


def _pack(length_chars: int, wide_positions: Sequence[int], capacity: int) -> int:
    """Count the segments of `capacity` units that the characters fill in order.

    Every character costs one unit except those at `wide_positions`, which cost
    two and may not straddle a segment boundary: a handset could not rebuild a
    character split across two messages, so an SMSC leaves the last unit of the
    segment empty and starts the next one with it. Only the wide characters need
    a Python step; the runs of narrow ones between them are added in one go.
    """
    full_segments = 0
    used = 0  # units in the segment being filled
    next_char = 0
    for position in (*wide_positions, length_chars):
        used += position - next_char
        if used > capacity:
            overflow_segments = (used - 1) // capacity
            full_segments += overflow_segments
            used -= overflow_segments * capacity
        if position == length_chars:
            break
        if used + 2 > capacity:
            full_segments += 1
            used = 0
        used += 2
        next_char = position + 1
    return full_segments + 1


def _checked(count: SegmentCount) -> SegmentCount:
    if count.segments > MAX_SEGMENTS:
        raise MessageTooLong(
            f"message needs {count.segments} segments; at most {MAX_SEGMENTS} allowed",
            segments=count.segments,
            max_segments=MAX_SEGMENTS,
            encoding=count.encoding.value,
            units=count.units,
        )
    return count
