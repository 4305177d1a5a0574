"""SMPP 3.4 framing and the small PDUs the smpp34 codec has no class for.

smpp34 encodes submit_sm and decodes deliver_sm (the PDUs with many fields and
TLVs); the rest are a header plus at most a few C-Octet-Strings, built here so
that the session owns its sequence numbers, timers and responses.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

HEADER: Final = struct.Struct(">IIII")
HEADER_LENGTH: Final = HEADER.size
# Real PDUs are a few hundred bytes; a larger length is a broken or hostile
# peer, and reading it would let one header make us buffer megabytes.
MAX_PDU_LENGTH: Final = 64 * 1024
RESPONSE_BIT: Final = 0x80000000
MAX_SEQUENCE: Final = 0x7FFFFFFF
INTERFACE_VERSION: Final = 0x34


class Command(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    ALERT_NOTIFICATION = 0x00000102


class Status(IntEnum):
    ROK = 0x00
    RINVMSGLEN = 0x01
    RINVCMDLEN = 0x02
    RINVCMDID = 0x03
    RINVBNDSTS = 0x04
    RALYBND = 0x05
    RSYSERR = 0x08
    RBINDFAIL = 0x0D
    RINVPASWD = 0x0E
    RINVSYSID = 0x0F
    RMSGQFUL = 0x14
    RTHROTTLED = 0x58
    RX_T_APPN = 0x64


# Answers that mean "not now": the same submit_sm may be accepted later.
THROTTLING_STATUSES: Final = frozenset({Status.RTHROTTLED, Status.RMSGQFUL})

# SMPP 3.4 C-Octet-String limits (including the NUL) for the bind fields.
SYSTEM_ID_MAX: Final = 16
PASSWORD_MAX: Final = 9
SYSTEM_TYPE_MAX: Final = 13


def status_text(status: int) -> str:
    """`ESME_RINVPASWD (0x0000000E)`: the name where we know it, always the code."""
    try:
        name = f"ESME_{Status(status).name}"
    except ValueError:
        name = "status"
    return f"{name} (0x{status:08X})"


def status_code(status: int) -> str:
    """The command_status as kept on a result: verbatim, as 8 hex digits."""
    return f"0x{status:08X}"


@dataclass(frozen=True, slots=True)
class Frame:
    command_id: int
    status: int
    sequence: int
    body: bytes
    raw: bytes  # header + body, for the smpp34 decoder

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


class ProtocolError(Exception):
    """The peer sent bytes that are not SMPP; the connection cannot go on."""


def encode(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(HEADER_LENGTH + len(body), command_id, status, sequence) + body


def c_string(value: str, limit: int, field: str) -> bytes:
    data = value.encode("ascii")
    if len(data) + 1 > limit or b"\0" in data:
        raise ValueError(f"{field} must be at most {limit - 1} ASCII characters")
    return data + b"\0"


def bind_transceiver(
    sequence: int, system_id: str, password: str, system_type: str, ton: int, npi: int
) -> bytes:
    body = (
        c_string(system_id, SYSTEM_ID_MAX, "system_id")
        + c_string(password, PASSWORD_MAX, "password")
        + c_string(system_type, SYSTEM_TYPE_MAX, "system_type")
        + bytes((INTERFACE_VERSION, ton, npi))
        + b"\0"  # address_range: any
    )
    return encode(Command.BIND_TRANSCEIVER, sequence, body)


def read_c_string(body: bytes, start: int = 0) -> str:
    """The first C-Octet-String in `body` from `start`; tolerant of a missing NUL."""
    end = body.find(b"\0", start)
    return body[start : end if end >= 0 else len(body)].decode("ascii", "replace")


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """Read one PDU. Raises IncompleteReadError at EOF, ProtocolError on garbage."""
    header = await reader.readexactly(HEADER_LENGTH)
    length, command_id, status, sequence = HEADER.unpack(header)
    if not HEADER_LENGTH <= length <= MAX_PDU_LENGTH:
        raise ProtocolError(f"command_length {length} out of range")
    body = await reader.readexactly(length - HEADER_LENGTH)
    return Frame(command_id, status, sequence, body, header + body)
