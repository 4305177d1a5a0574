"""Numbers as carriers report them (digits, a type of number, a numbering
plan, the route's country) read into the E.164 form sends are checked in."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import InvalidPhoneNumber
from domain.messaging.countries import COUNTRIES
from domain.messaging.phone import (
    TON_INTERNATIONAL,
    TON_NATIONAL,
    TON_UNKNOWN,
    country_of_prefix,
    parse_carrier_number,
    parse_phone,
)


@pytest.mark.parametrize(
    ("raw", "ton", "npi", "country", "e164"),
    [
        # The SMSC of the defect: digits only, TON 0, NPI 1.
        ("447911500007", 0, 1, None, "+447911500007"),
        ("447911500007", 0, 1, "GB", "+447911500007"),
        ("447911500007", 0, 0, "GH", "+447911500007"),
        ("447911500007", 1, 1, None, "+447911500007"),
        ("07911500007", 0, 1, "GB", "+447911500007"),
        ("07911500007", 2, 1, "GB", "+447911500007"),
        ("7911500007", 2, 1, "GB", "+447911500007"),
        ("7911500007", 2, 8, "GB", "+447911500007"),
        ("+447911500007", 0, 1, None, "+447911500007"),
        ("+447911500007", 2, 1, "GH", "+447911500007"),
        ("00447911500007", 0, 1, "US", "+447911500007"),
        ("+44 7911 500007", 0, 1, None, "+447911500007"),
        ("07911-500-007", 0, 1, "GB", "+447911500007"),
        # A type that does not fit the digits: read as an unknown type.
        ("07911500007", 1, 1, "GB", "+447911500007"),
        ("447911500007", 2, 1, "GB", "+447911500007"),
        ("447911500007", 2, 1, None, "+447911500007"),
        # The route's own trunk prefix before a valid national number is
        # national, even where the digits would also read internationally
        # (84 is Viet Nam's code; 8 495 ... is a Moscow number).
        ("84951234567", 0, 1, "RU", "+74951234567"),
        ("84951234567", 0, 1, None, "+84951234567"),
        ("0620 1234567", 0, 1, "HU", "+36201234567"),
        # NANP: ten digits, with or without the trunk 1.
        ("12025550123", 0, 1, "US", "+12025550123"),
        ("2025550123", 2, 1, "US", "+12025550123"),
        ("4165550123", 2, 1, "US", "+14165550123"),
        # Not a valid international number: national in the route's country.
        ("201234567", 0, 1, "GH", "+233201234567"),
    ],
)
def test_carrier_numbers(raw: str, ton: int, npi: int, country: str | None, e164: str) -> None:
    assert parse_carrier_number(raw, ton=ton, npi=npi, country=country).e164 == e164


@pytest.mark.parametrize(
    ("raw", "ton", "npi", "country", "reason_part"),
    [
        ("07911500007", 0, 1, None, "unsupported country calling code"),
        ("7911500007", 2, 1, None, "too short"),
        ("MyBank", 5, 0, None, "not a telephone number (TON 5"),
        ("12345", 3, 0, "GB", "not a telephone number (TON 3"),
        ("447911500007", 1, 9, None, "not a telephone number (TON 1, NPI 9)"),
        ("", 0, 1, "GB", "empty"),
        ("4479115OOOO7", 0, 1, "GB", "characters other than digits"),
    ],
)
def test_what_is_not_a_number_is_refused(
    raw: str, ton: int, npi: int, country: str | None, reason_part: str
) -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        parse_carrier_number(raw, ton=ton, npi=npi, country=country)
    assert reason_part in raised.value.details["reason"]


@pytest.mark.parametrize(
    ("prefix", "country"),
    [("+44", "GB"), ("+447", "GB"), ("+233", "GH"), ("+1", "US"), ("+1416", "CA"),
     ("+7", "RU"), ("+77", "KZ"), ("+", None), ("+4", None), ("+999", None), ("", None)],
)
def test_the_country_of_a_route_prefix(prefix: str, country: str | None) -> None:
    assert country_of_prefix(prefix) == country


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(E.164, country, calling code, national significant number)."""
    _iso2, _name, code, _trunk, lengths = draw(st.sampled_from(COUNTRIES))
    length = draw(st.sampled_from(lengths))
    nsn = draw(st.text("0123456789", min_size=length, max_size=length))
    # Written nationally, 00 would be the international prefix; no plan
    # (not even those whose numbers may start with 0) begins numbers so.
    assume(not nsn.startswith("00"))
    try:
        number = parse_phone(f"+{code}{nsn}")
    except InvalidPhoneNumber:
        assume(False)
        raise
    return number.e164, number.country, code, nsn


def _trunk(country: str) -> str:
    return next(row[3] for row in COUNTRIES if row[0] == country)


def _spaced(digits: str, cuts: list[int], separator: str) -> str:
    pieces, last = [], 0
    for cut in sorted({c % (len(digits) + 1) for c in cuts}):
        pieces.append(digits[last:cut])
        last = cut
    pieces.append(digits[last:])
    return separator.join(p for p in pieces if p)


@given(valid_numbers(), st.lists(st.integers(0, 20), max_size=4), st.sampled_from(" -"))
def test_every_written_form_of_a_number_reads_the_same(
    number: tuple[str, str, str, str], cuts: list[int], separator: str
) -> None:
    """What a carrier reports and what a send names meet in one E.164 form,
    so no way of writing a number gets past its opt-out."""
    e164, country, code, nsn = number
    national = _trunk(country) + nsn
    carrier_forms = [
        (e164, TON_UNKNOWN, None),
        (e164, TON_NATIONAL, country),
        ("00" + code + nsn, TON_UNKNOWN, country),
        (code + nsn, TON_UNKNOWN, None),
        (code + nsn, TON_UNKNOWN, country),
        (code + nsn, TON_INTERNATIONAL, None),
        (nsn, TON_NATIONAL, country),
        (national, TON_NATIONAL, country),
        (_spaced(code + nsn, cuts, separator), TON_UNKNOWN, None),
    ]
    if _trunk(country):  # written with its trunk prefix, the usual national form
        carrier_forms += [(national, TON_UNKNOWN, country),
                          (_spaced(national, cuts, separator), TON_UNKNOWN, country)]
    for raw, ton, route_country in carrier_forms:
        read = parse_carrier_number(raw, ton=ton, country=route_country)
        assert read.e164 == e164, (raw, ton, route_country)
    for written in ("+" + _spaced(code + nsn, cuts, separator), "00" + code + nsn, national,
                    _spaced(national, cuts, separator)):
        assert parse_phone(written, country).e164 == e164, written
