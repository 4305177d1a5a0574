"""Long messages: what the SMSC (smpp34's server) receives, and their receipts."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from application.delivery.carriers import SubmitRequest
from domain.messaging.encoding import count_segments
from tests.integration.delivery.smpp.conftest import CarrierFactory
from tests.support.smsc import ScriptedSmsc, Submit, eventually, gsm_decode, receipt_text

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

# An escape pair would straddle the first boundary (152 + 2 > 153 septets).
GSM_BODY = (
    "a" * 152 + "€" + "Curly {braces} [brackets] ~tilde~ |pipe| ^caret^ \\slash\\ " * 4 + "end"
)
# A surrogate pair would straddle the first boundary (66 + 2 > 67 units).
UCS2_BODY = "ж" * 66 + "😀" + "Привет, мир! 👋🏽 " * 8 + "🎉"


def request(body: str, encoding: str, receipt: bool = True) -> SubmitRequest:
    segments = count_segments(body, force_unicode=encoding == "UCS-2").segments
    return SubmitRequest(
        uuid.uuid4(), "+233200000001", "SMSLEDGER", body, encoding, segments, receipt
    )


def udh_of(part: Submit) -> tuple[int, int, int]:
    """(reference, total, sequence) from a concatenation UDH, checked for shape."""
    header = part.short_message[:6]
    assert header[:3] == b"\x05\x00\x03", header.hex()
    return header[3], header[4], header[5]


def check_parts(parts: list[Submit], data_coding: int) -> list[bytes]:
    refs = {udh_of(p)[0] for p in parts}
    assert len(refs) == 1, "one reference for all parts"
    assert [udh_of(p)[1:] for p in parts] == [(len(parts), i + 1) for i in range(len(parts))]
    assert {(p.esm_class, p.data_coding, p.registered_delivery) for p in parts} == {
        (0x40, data_coding, 1)
    }
    return [p.short_message[6:] for p in parts]


async def test_gsm7_with_extension_characters(smsc: ScriptedSmsc, carriers: CarrierFactory) -> None:
    carrier, _ = await carriers()
    expected = count_segments(GSM_BODY).segments
    assert expected == 3 and count_segments(GSM_BODY).encoding == "GSM-7"

    result = await carrier.submit(request(GSM_BODY, "GSM-7"))

    assert result.accepted and result.carrier_message_id == smsc.submits[0].message_id
    payloads = check_parts(smsc.submits, data_coding=0)
    assert len(payloads) == expected
    assert all(len(p) <= 153 and not p.endswith(b"\x1b") for p in payloads)
    assert len(payloads[0]) == 152  # the euro sign moved whole to part two
    assert "".join(gsm_decode(p) for p in payloads) == GSM_BODY


async def test_ucs2_with_emoji(smsc: ScriptedSmsc, carriers: CarrierFactory) -> None:
    carrier, _ = await carriers()
    expected = count_segments(UCS2_BODY).segments

    result = await carrier.submit(request(UCS2_BODY, "UCS-2"))

    assert result.accepted and result.carrier_message_id == smsc.submits[0].message_id
    payloads = check_parts(smsc.submits, data_coding=8)
    assert len(payloads) == expected == 4
    assert all(len(p) <= 134 for p in payloads) and len(payloads[0]) == 132
    # Each part is valid UTF-16 on its own: no surrogate pair was cut.
    assert "".join(p.decode("utf-16-be", "strict") for p in payloads) == UCS2_BODY


async def test_each_message_gets_its_own_reference(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    carrier, _ = await carriers()

    await asyncio.gather(*(carrier.submit(request(GSM_BODY, "GSM-7")) for _ in range(3)))

    by_ref: dict[int, list[int]] = {}
    for part in smsc.submits:
        ref, _, seq = udh_of(part)
        by_ref.setdefault(ref, []).append(seq)
    assert sorted(sorted(seqs) for seqs in by_ref.values()) == [[1, 2, 3]] * 3


async def test_one_receipt_when_every_part_is_delivered(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.receipts = "text"
    carrier, recorder = await carriers()

    result = await carrier.submit(request(GSM_BODY, "GSM-7"))

    await eventually(lambda: len(recorder.receipts) == 1)
    await asyncio.sleep(0.2)  # and no more come
    (receipt,) = recorder.receipts
    assert (receipt.carrier_message_id, receipt.carrier_state) == (
        result.carrier_message_id, "DELIVRD",
    )  # fmt: skip
    assert receipt.raw.startswith("part ") and "/3: id:" in receipt.raw


async def test_a_failed_part_fails_the_message(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.receipts = "text"
    # The SMSC numbers messages 1, 2, 3...: the second part is undelivered.
    smsc.receipt_body = lambda mid: receipt_text(mid, "UNDELIV" if mid.endswith("2") else "DELIVRD")
    carrier, recorder = await carriers()

    result = await carrier.submit(request(GSM_BODY, "GSM-7"))

    await eventually(lambda: len(recorder.receipts) == 1)
    await asyncio.sleep(0.2)
    (receipt,) = recorder.receipts
    assert (receipt.carrier_message_id, receipt.carrier_state) == (
        result.carrier_message_id, "UNDELIV",
    )  # fmt: skip
    assert receipt.raw.startswith("part 2/3: ")


async def test_part_receipts_before_their_resps_still_make_the_message_receipt(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    smsc.receipts, smsc.receipt_before_resp = "text", True
    carrier, recorder = await carriers()

    result = await carrier.submit(request(GSM_BODY, "GSM-7"))

    part_ids = [p.message_id for p in smsc.submits]
    await eventually(lambda: len(recorder.receipts) == 4)
    raw, combined = recorder.receipts[:3], recorder.receipts[3]
    # Each early receipt went to the application as it came (unknown ids are
    # parked there), and was kept here until its part's id was known.
    assert [r.carrier_message_id for r in raw] == part_ids
    assert (combined.carrier_message_id, combined.carrier_state) == (
        result.carrier_message_id, "DELIVRD",
    )  # fmt: skip


async def test_short_bodies_go_as_one_part_without_udh(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    carrier, _ = await carriers()
    gsm = "@£$ exactly one segment €" + "x" * 134  # 160 septets: the euro counts two
    ucs2 = "ж" * 68 + "👋"  # 70 UTF-16 units: the emoji counts two
    assert (count_segments(gsm).units, count_segments(ucs2).units) == (160, 70)

    await carrier.submit(request(gsm, "GSM-7"))
    await carrier.submit(request(ucs2, "UCS-2"))

    first, second = smsc.submits
    assert (first.esm_class, first.data_coding, len(first.short_message)) == (0, 0, 160)
    assert gsm_decode(first.short_message) == gsm
    assert (second.esm_class, second.data_coding) == (0, 8)
    assert second.short_message.decode("utf-16-be") == ucs2


async def test_a_body_its_encoding_cannot_carry_is_refused(
    smsc: ScriptedSmsc, carriers: CarrierFactory
) -> None:
    carrier, _ = await carriers()

    result = await carrier.submit(request("emoji 👋 in GSM-7", "GSM-7"))

    assert not result.accepted and "GSM 03.38" in result.reason
    assert smsc.submits == []
