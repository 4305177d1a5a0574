"""Message bodies as SMPP short_message bytes, split into concatenated parts.

GSM-7 goes out as data_coding 0 in *unpacked* GSM 03.38: one septet value per
octet, extension characters as ESC (0x1B) plus their code. That is what SMPP
3.4 SMSCs take for the default alphabet (the SMSC packs septets for the air
interface), and it keeps a part's byte count equal to its septet count, so the
153-septet part limit is a plain length. UCS-2 goes out as data_coding 8 in
UTF-16BE, where characters outside the BMP are surrogate pairs.

A long body becomes parts that each carry a 6-octet UDH (8-bit reference IE
0x00: reference, total, sequence) and esm_class 0x40. The split is per
character, so an escape pair or a surrogate pair is never cut in two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from domain.messaging.encoding import (
    GSM7_BASIC_CHARS,
    GSM7_MULTIPART_SEPTETS,
    GSM7_SINGLE_SEPTETS,
    UCS2_MULTIPART_UNITS,
    UCS2_SINGLE_UNITS,
    Encoding,
)

DATA_CODING_DEFAULT: Final = 0x00
DATA_CODING_IA5: Final = 0x01
DATA_CODING_LATIN1: Final = 0x03
DATA_CODING_UCS2: Final = 0x08
ESM_CLASS_UDHI: Final = 0x40
GSM7_ESCAPE: Final = 0x1B
MAX_PARTS: Final = 255  # the 8-bit reference IE counts parts in one octet

# GSM7_BASIC_CHARS lists the default alphabet in code order with ESC (0x1B) left
# out, so positions from 0x1B on are one higher than their index.
_GSM7_CODE: Final = {ch: i if i < GSM7_ESCAPE else i + 1 for i, ch in enumerate(GSM7_BASIC_CHARS)}
_GSM7_EXTENSION_CODE: Final = {
    "\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
    "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
}  # fmt: skip
_GSM7_CHAR: Final = {code: ch for ch, code in _GSM7_CODE.items()}
_GSM7_EXTENSION_CHAR: Final = {code: ch for ch, code in _GSM7_EXTENSION_CODE.items()}


class UnencodableBody(ValueError):
    """The body has a character its declared encoding cannot carry."""


@dataclass(frozen=True, slots=True)
class EncodedBody:
    data_coding: int
    parts: tuple[bytes, ...]  # payloads without UDH; one part means no UDH

    @property
    def is_multipart(self) -> bool:
        return len(self.parts) > 1


def encode_body(body: str, encoding: str) -> EncodedBody:
    """Encode `body` as `encoding` ("GSM-7" or "UCS-2") and split it into parts."""
    if encoding == Encoding.GSM7.value:
        units = [_gsm7_char(ch) for ch in body]
        single, multi, coding = GSM7_SINGLE_SEPTETS, GSM7_MULTIPART_SEPTETS, DATA_CODING_DEFAULT
        unit_bytes = 1
    elif encoding == Encoding.UCS2.value:
        units = [ch.encode("utf-16-be") for ch in body]
        single, multi, coding = UCS2_SINGLE_UNITS, UCS2_MULTIPART_UNITS, DATA_CODING_UCS2
        unit_bytes = 2
    else:
        raise UnencodableBody(f"unknown encoding {encoding!r}")
    total = sum(len(u) for u in units) // unit_bytes
    if total <= single:
        return EncodedBody(coding, (b"".join(units),))
    parts = _fill(units, multi * unit_bytes)
    if len(parts) > MAX_PARTS:
        raise UnencodableBody(f"body needs {len(parts)} parts; at most {MAX_PARTS}")
    return EncodedBody(coding, tuple(parts))


def _gsm7_char(ch: str) -> bytes:
    code = _GSM7_CODE.get(ch)
    if code is not None:
        return bytes((code,))
    ext = _GSM7_EXTENSION_CODE.get(ch)
    if ext is not None:
        return bytes((GSM7_ESCAPE, ext))
    raise UnencodableBody(f"character {ch!r} is not in the GSM 03.38 alphabet")


def _fill(units: list[bytes], capacity: int) -> list[bytes]:
    """Pack whole characters into parts of at most `capacity` bytes, in order."""
    parts: list[bytes] = []
    current = bytearray()
    for unit in units:
        if len(current) + len(unit) > capacity:
            parts.append(bytes(current))
            current = bytearray()
        current += unit
    parts.append(bytes(current))
    return parts


def udh(reference: int, total: int, sequence: int) -> bytes:
    """Concatenation header: UDHL 5, IE 0x00 (8-bit reference), length 3."""
    return bytes((0x05, 0x00, 0x03, reference & 0xFF, total, sequence))


def strip_udh(data: bytes) -> tuple[bytes, bytes]:
    """Split short_message into (UDH, payload) when esm_class has UDHI set."""
    if not data:
        return b"", b""
    end = 1 + data[0]
    return data[:end], data[end:]


def decode_gsm7(data: bytes) -> str:
    out: list[str] = []
    escaped = False
    for code in data:
        if escaped:
            # An escape before a code with no extension character stands for
            # the basic character (3GPP TS 23.038, 6.2.1.1).
            out.append(_GSM7_EXTENSION_CHAR.get(code) or _GSM7_CHAR.get(code & 0x7F, "?"))
            escaped = False
        elif code == GSM7_ESCAPE:
            escaped = True
        else:
            out.append(_GSM7_CHAR.get(code & 0x7F, "?"))
    return "".join(out)


def decode_text(data: bytes, data_coding: int) -> str:
    """A short_message (UDH already removed) as text, per its data_coding."""
    if data_coding == DATA_CODING_UCS2:
        return data.decode("utf-16-be", "replace")
    if data_coding == DATA_CODING_DEFAULT:
        return decode_gsm7(data)
    if data_coding == DATA_CODING_IA5:
        return data.decode("ascii", "replace")
    # Latin-1 (0x03) and codings we do not know: Latin-1 never fails, and keeps
    # the bytes recoverable from the text for support.
    return data.decode("latin-1")
