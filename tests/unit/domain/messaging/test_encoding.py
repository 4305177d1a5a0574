"""Segment counting per GSM 03.38 and UCS-2, including the boundary rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import MessageTooLong
from domain.messaging.encoding import (
    GSM7_BASIC_CHARS,
    GSM7_EXTENSION_CHARS,
    MAX_SEGMENTS,
    Encoding,
    SegmentCount,
    count_segments,
)

GSM = Encoding.GSM7
UCS2 = Encoding.UCS2
EMOJI = "\N{GRINNING FACE}"  # U+1F600, outside the BMP
ARABIC = "\N{ARABIC LETTER ALEF}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("", SegmentCount(GSM, 0, 1), id="empty"),
        pytest.param("Hello", SegmentCount(GSM, 5, 1), id="short"),
        pytest.param("a" * 160, SegmentCount(GSM, 160, 1), id="gsm-160"),
        pytest.param("a" * 161, SegmentCount(GSM, 161, 2), id="gsm-161"),
        pytest.param("a" * 306, SegmentCount(GSM, 306, 2), id="gsm-153x2"),
        pytest.param("a" * 307, SegmentCount(GSM, 307, 3), id="gsm-153x2+1"),
        pytest.param("a" * 1530, SegmentCount(GSM, 1530, 10), id="gsm-max"),
        pytest.param(GSM7_BASIC_CHARS, SegmentCount(GSM, 127, 1), id="whole-basic-set"),
        pytest.param("€" * 80, SegmentCount(GSM, 160, 1), id="euro-80"),
        pytest.param("€" * 81, SegmentCount(GSM, 162, 2), id="euro-81"),
        pytest.param("a" * 159 + "€", SegmentCount(GSM, 161, 2), id="euro-overflows-single"),
        pytest.param("a" * 158 + "€", SegmentCount(GSM, 160, 1), id="euro-fills-single"),
        # 152 septets then a 2-septet char: it cannot be split across segments,
        # so it moves to segment 2 and segment 1 carries 152 septets.
        pytest.param("a" * 152 + "€" + "a" * 152, SegmentCount(GSM, 306, 3), id="euro-at-boundary"),
        pytest.param(
            "a" * 151 + "€" + "a" * 153, SegmentCount(GSM, 306, 2), id="euro-fits-boundary"
        ),
        pytest.param("€" * 153, SegmentCount(GSM, 306, 3), id="euros-odd-capacity"),
        pytest.param(EMOJI, SegmentCount(UCS2, 2, 1), id="one-emoji"),
        pytest.param(EMOJI * 35, SegmentCount(UCS2, 70, 1), id="emoji-35"),
        pytest.param(EMOJI * 36, SegmentCount(UCS2, 72, 2), id="emoji-36"),
        # 66 units then a surrogate pair: the pair moves to segment 2.
        pytest.param(
            "a" * 66 + EMOJI + "a" * 66, SegmentCount(UCS2, 134, 3), id="emoji-at-boundary"
        ),
        pytest.param(
            "a" * 65 + EMOJI + "a" * 67, SegmentCount(UCS2, 134, 2), id="emoji-fits-boundary"
        ),
        pytest.param(ARABIC * 70, SegmentCount(UCS2, 70, 1), id="arabic-70"),
        pytest.param(ARABIC * 71, SegmentCount(UCS2, 71, 2), id="arabic-71"),
        pytest.param(ARABIC * 134, SegmentCount(UCS2, 134, 2), id="arabic-67x2"),
        pytest.param(ARABIC * 135, SegmentCount(UCS2, 135, 3), id="arabic-135"),
        pytest.param(ARABIC * 670, SegmentCount(UCS2, 670, 10), id="arabic-max"),
        pytest.param("Hi ç", SegmentCount(UCS2, 4, 1), id="lowercase-c-cedilla-is-not-gsm"),
        pytest.param("Hi Ç", SegmentCount(GSM, 4, 1), id="capital-c-cedilla-is-gsm"),
        pytest.param("price `5`", SegmentCount(UCS2, 9, 1), id="backtick-is-not-gsm"),
        pytest.param("\x1b", SegmentCount(UCS2, 1, 1), id="escape-is-not-a-character"),
    ],
)
def test_count_segments(body: str, expected: SegmentCount) -> None:
    assert count_segments(body) == expected


@pytest.mark.parametrize("char", list(GSM7_EXTENSION_CHARS))
def test_each_extension_character_costs_two_septets(char: str) -> None:
    assert count_segments("a" + char) == SegmentCount(GSM, 3, 1)
    assert count_segments(char * 80).segments == 1
    assert count_segments(char * 81).segments == 2


def test_force_unicode_on_plain_ascii() -> None:
    assert count_segments("Hello", force_unicode=True) == SegmentCount(UCS2, 5, 1)
    assert count_segments("a" * 71, force_unicode=True) == SegmentCount(UCS2, 71, 2)
    assert count_segments("", force_unicode=True) == SegmentCount(UCS2, 0, 1)
    # In UCS-2 the euro sign is one ordinary code unit.
    assert count_segments("€" * 70, force_unicode=True) == SegmentCount(UCS2, 70, 1)


def test_encoding_values_are_the_public_names() -> None:
    assert str(Encoding.GSM7) == "GSM-7"
    assert str(Encoding.UCS2) == "UCS-2"


def test_gsm_above_ten_segments_is_too_long() -> None:
    assert count_segments("a" * 1530).segments == MAX_SEGMENTS
    with pytest.raises(MessageTooLong) as raised:
        count_segments("a" * 1531)
    error = raised.value
    assert error.code == "MESSAGE_TOO_LONG"
    assert error.details == {
        "segments": 11,
        "max_segments": MAX_SEGMENTS,
        "encoding": "GSM-7",
        "units": 1531,
    }


def test_ucs2_above_ten_segments_is_too_long() -> None:
    with pytest.raises(MessageTooLong) as raised:
        count_segments(ARABIC * 671)
    assert raised.value.details["encoding"] == "UCS-2"
    assert raised.value.details["segments"] == 11


def test_boundary_moves_can_push_a_message_over_the_limit() -> None:
    # Each multipart segment holds only 76 euro signs (152 of its 153 septets).
    assert count_segments("€" * 760).segments == 10
    with pytest.raises(MessageTooLong):
        count_segments("€" * 761)


gsm_chars = st.sampled_from(GSM7_BASIC_CHARS + GSM7_EXTENSION_CHARS)
gsm_text = st.text(alphabet=gsm_chars, max_size=1600)
any_text = st.text(max_size=800)


def _segments_or_none(body: str, *, force_unicode: bool = False) -> int | None:
    try:
        return count_segments(body, force_unicode=force_unicode).segments
    except MessageTooLong:
        return None


@given(body=any_text, suffix=st.text(min_size=1, max_size=40))
def test_appending_never_reduces_segments(body: str, suffix: str) -> None:
    before = _segments_or_none(body)
    after = _segments_or_none(body + suffix)
    if before is None:
        assert after is None  # once too long, longer is still too long
    elif after is not None:
        assert after >= before


@given(body=gsm_text)
def test_gsm_only_text_never_counts_as_ucs2(body: str) -> None:
    try:
        count = count_segments(body)
    except MessageTooLong as error:
        assert error.details["encoding"] == "GSM-7"
    else:
        assert count.encoding is GSM
        extension = sum(body.count(char) for char in GSM7_EXTENSION_CHARS)
        assert count.units == len(body) + extension


@given(body=any_text, force_unicode=st.booleans())
def test_ucs2_units_at_least_length(body: str, force_unicode: bool) -> None:
    try:
        count = count_segments(body, force_unicode=force_unicode)
    except MessageTooLong:
        return
    if count.encoding is UCS2:
        assert count.units >= len(body)
        assert count.units == len(body.encode("utf-16-le", "surrogatepass")) // 2


@given(body=st.one_of(gsm_text, any_text), force_unicode=st.booleans())
def test_segments_within_limit_or_raises(body: str, force_unicode: bool) -> None:
    try:
        count = count_segments(body, force_unicode=force_unicode)
    except MessageTooLong as error:
        assert error.details["segments"] > MAX_SEGMENTS
    else:
        assert 1 <= count.segments <= MAX_SEGMENTS


def _reference_segments(widths: list[int], single: int, multipart: int) -> int:
    """Pack character by character, the slow obvious way."""
    if sum(widths) <= single:
        return 1
    segments, used = 1, 0
    for width in widths:
        if used + width > multipart:
            segments, used = segments + 1, 0
        used += width
    return segments


@given(body=gsm_text)
def test_gsm_packing_matches_char_by_char_reference(body: str) -> None:
    widths = [2 if char in GSM7_EXTENSION_CHARS else 1 for char in body]
    expected = _reference_segments(widths, 160, 153)
    assert _segments_or_none(body) == (expected if expected <= MAX_SEGMENTS else None)


@given(body=st.text(alphabet=st.sampled_from(["a", ARABIC, EMOJI, "\U0001f44d"]), max_size=800))
def test_ucs2_packing_matches_char_by_char_reference(body: str) -> None:
    widths = [2 if ord(char) > 0xFFFF else 1 for char in body]
    expected = _reference_segments(widths, 70, 67)
    got = _segments_or_none(body, force_unicode=True)
    assert got == (expected if expected <= MAX_SEGMENTS else None)
