"""Delivery receipts: reading them from deliver_sm, and matching multipart ones.

The text form (SMPP 3.4 Appendix B) is a de-facto format that carriers bend:
fields come in another order, in another case, or not at all. Each known key is
found wherever it stands; its first occurrence wins, so a later `stat:` inside
the free `text:` field cannot overwrite the real one. The TLVs
receipted_message_id and message_state are the standard's structured form and
win over the text when present.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

from application.delivery.carriers import DeliveryReceipt
from domain.messaging.receipts import MESSAGE_STATE_WORDS

TLV_RECEIPTED_MESSAGE_ID: Final = 0x001E
TLV_MESSAGE_STATE: Final = 0x0427
TLV_NETWORK_ERROR_CODE: Final = 0x0423
ESM_CLASS_RECEIPT: Final = 0x04
ESM_CLASS_INTERMEDIATE: Final = 0x20  # intermediate delivery notification

_KEY: Final = re.compile(
    r"(?i)(?<![A-Za-z0-9_])(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:"
)
_DELIVERED: Final = "DELIVRD"
_INTERMEDIATE: Final = frozenset({"ENROUTE", "ACCEPTD"})


class TlvLike(Protocol):
    @property
    def tag(self) -> int: ...
    @property
    def value(self) -> bytes: ...


def is_receipt(esm_class: int) -> bool:
    """Message type (esm_class bits 2-5): an SMSC delivery receipt (0x04), or an
    intermediate notification (0x20), which uses the same text form."""
    return esm_class & 0x3C in (ESM_CLASS_RECEIPT, ESM_CLASS_INTERMEDIATE)


def text_fields(text: str) -> dict[str, str]:
    """The receipt's fields by lower-case key with spaces and `_` removed."""
    found: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    for match in _KEY.finditer(text):
        key = re.sub(r"[ _]", "", match.group(1).lower())
        if key in seen:
            continue  # a repeat is part of the previous field's value
        seen.add(key)
        found.append((key, match.start(), match.end()))
    fields: dict[str, str] = {}
    for i, (key, _, value_start) in enumerate(found):
        value_end = found[i + 1][1] if i + 1 < len(found) else len(text)
        fields[key] = text[value_start:value_end].strip()
    return fields


def parse_date(value: str) -> datetime | None:
    """YYMMDDhhmm[ss]. Receipts carry no zone; UTC is the common convention."""
    digits = value.strip()
    formats = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}
    fmt = formats.get(len(digits))
    if fmt is None or not digits.isdigit():
        return None
    try:
        return datetime.strptime(digits, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_receipt(carrier: str, text: str, tlvs: Sequence[TlvLike]) -> DeliveryReceipt | None:
    """The receipt in a deliver_sm, or None when it names no message."""
    fields = text_fields(text)
    by_tag = {t.tag: t.value for t in tlvs}
    message_id = fields.get("id", "")
    state = fields.get("stat", "")
    error = fields.get("err", "")
    raw = text
    if TLV_RECEIPTED_MESSAGE_ID in by_tag:
        message_id = by_tag[TLV_RECEIPTED_MESSAGE_ID].rstrip(b"\0").decode("ascii", "replace")
    state_value = by_tag.get(TLV_MESSAGE_STATE, b"")
    if len(state_value) == 1:
        state = MESSAGE_STATE_WORDS.get(state_value[0], state)
    network_error = by_tag.get(TLV_NETWORK_ERROR_CODE, b"")
    if not error and len(network_error) == 3:
        error = network_error.hex()  # network type, then the 2-octet code
    if not text and by_tag:
        raw = " ".join(f"tlv 0x{tag:04X}={value.hex()}" for tag, value in by_tag.items())
    if not message_id:
        return None
    done_at = parse_date(fields.get("donedate", ""))
    return DeliveryReceipt(carrier, message_id.strip(), state, error, done_at, raw)


@dataclass(slots=True)
class MultipartGroup:
    """One long message's parts. Its receipt counts only when all parts have
    reported DELIVRD, or at once when any part reports a final failure; the
    message is then one receipt, under the first part's id."""

    total: int
    first_id: str = ""
    delivered: set[int] = field(default_factory=set)
    decided: bool = False
    abandoned: bool = False  # a part was refused: the message was not sent

    def record(self, index: int, receipt: DeliveryReceipt) -> DeliveryReceipt | None:
        if self.decided or self.abandoned:
            return None
        state = receipt.carrier_state.strip().upper()
        if state in _INTERMEDIATE:
            return None
        if state == _DELIVERED:
            self.delivered.add(index)
            if len(self.delivered) < self.total:
                return None
        self.decided = True
        return DeliveryReceipt(
            receipt.carrier,
            self.first_id or receipt.carrier_message_id,
            receipt.carrier_state,
            receipt.error_code,
            receipt.done_at,
            f"part {index + 1}/{self.total}: {receipt.raw}",
        )


class PartTracker:
    """Which multipart message each part id belongs to, bounded in size.

    Receipts for a part whose submit_sm_resp has not been read yet are kept in
    `orphans` (also bounded) and matched when the part's id is registered.
    """

    def __init__(self, capacity: int, orphan_capacity: int) -> None:
        self._parts: OrderedDict[str, tuple[MultipartGroup, int]] = OrderedDict()
        self._orphans: OrderedDict[str, DeliveryReceipt] = OrderedDict()
        self._capacity = capacity
        self._orphan_capacity = orphan_capacity
        self.evicted = 0

    def register(self, part_id: str, group: MultipartGroup, index: int) -> DeliveryReceipt | None:
        """Remember a part; returns the group's receipt if an orphan decides it."""
        if index == 0:
            group.first_id = part_id
        self._parts[part_id] = (group, index)
        while len(self._parts) > self._capacity:
            self._parts.popitem(last=False)
            self.evicted += 1
        orphan = self._orphans.pop(part_id, None)
        return group.record(index, orphan) if orphan is not None else None

    def match(self, receipt: DeliveryReceipt) -> tuple[bool, DeliveryReceipt | None]:
        """(is a known part, the group's receipt if this one decides it)."""
        entry = self._parts.get(receipt.carrier_message_id)
        if entry is None:
            return False, None
        group, index = entry
        return True, group.record(index, receipt)

    def keep_orphan(self, receipt: DeliveryReceipt) -> None:
        self._orphans[receipt.carrier_message_id] = receipt
        while len(self._orphans) > self._orphan_capacity:
            self._orphans.popitem(last=False)
