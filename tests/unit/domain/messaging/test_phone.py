"""E.164 validation and national formats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidPhoneNumber
from domain.messaging.countries import COUNTRIES, NSN_PREFIX_COUNTRIES
from domain.messaging.phone import KNOWN_COUNTRIES, PhoneNumber, parse_phone

# Built from code points so that the source stays unambiguous to read.
ARABIC_INDIC_GH = "+233201234567".translate({0x30 + d: 0x660 + d for d in range(10)})
FULLWIDTH_GH = "+233 20 123 4567".translate({0x30 + d: 0xFF10 + d for d in range(10)})


@pytest.mark.parametrize(
    ("raw", "default_country", "e164", "country"),
    [
        ("+233201234567", None, "+233201234567", "GH"),
        ("0201234567", "GH", "+233201234567", "GH"),
        ("020 123 4567", "gh", "+233201234567", "GH"),
        ("201234567", "GH", "+233201234567", "GH"),
        ("07700900123", "GB", "+447700900123", "GB"),
        ("07700 900123", "GB", "+447700900123", "GB"),
        ("+44 7700 900123", None, "+447700900123", "GB"),
        ("+44 (0)7700 900123", None, "+447700900123", "GB"),
        ("0044 7700 900123", None, "+447700900123", "GB"),
        ("0044 7700 900123", "GH", "+447700900123", "GB"),
        ("+1 (202) 555-0123", None, "+12025550123", "US"),
        ("202.555.0123", "US", "+12025550123", "US"),
        ("1-202-555-0123", "US", "+12025550123", "US"),
        ("+1 416 555 0123", None, "+14165550123", "CA"),
        ("(416) 555-0123", "US", "+14165550123", "CA"),
        ("+1 876 555 0123", None, "+18765550123", "JM"),
        ("+1 787 555 0123", None, "+17875550123", "PR"),
        ("+7 495 123 4567", None, "+74951234567", "RU"),
        ("8 495 123 4567", "RU", "+74951234567", "RU"),
        ("8 800 123 4567", "RU", "+78001234567", "RU"),
        ("800 123 4567", "RU", "+78001234567", "RU"),
        ("+7 701 123 4567", None, "+77011234567", "KZ"),
        ("+234 803 123 4567", None, "+2348031234567", "NG"),
        ("0803 123 4567", "NG", "+2348031234567", "NG"),
        ("+234 1 234 5678", None, "+23412345678", "NG"),
        ("+254 712 345678", None, "+254712345678", "KE"),
        ("+27 82 123 4567", None, "+27821234567", "ZA"),
        ("+91 98765 43210", None, "+919876543210", "IN"),
        ("+49 1512 3456789", None, "+4915123456789", "DE"),
        ("030 123456", "DE", "+4930123456", "DE"),
        ("+33 6 12 34 56 78", None, "+33612345678", "FR"),
        ("06 12 34 56 78", "FR", "+33612345678", "FR"),
        ("+39 06 1234 5678", None, "+390612345678", "IT"),
        ("+39 312 345 6789", None, "+393123456789", "IT"),
        ("06 20 123 4567", "HU", "+36201234567", "HU"),
        ("+61 412 345 678", None, "+61412345678", "AU"),
        ("+971 50 123 4567", None, "+971501234567", "AE"),
        ("+225 07 12 34 56 78", None, "+2250712345678", "CI"),
        ("  +233 20 123 4567  ", None, "+233201234567", "GH"),
        ("\t+233-20-123-4567", None, "+233201234567", "GH"),
        # Spreadsheets drop the "+"; the default country's code is recognised.
        ("233201234567", "GH", "+233201234567", "GH"),
        ("447700900123", "GB", "+447700900123", "GB"),
        # Digits typed in another script are still digits.
        (ARABIC_INDIC_GH, None, "+233201234567", "GH"),
        (FULLWIDTH_GH, None, "+233201234567", "GH"),
    ],
)
def test_valid_numbers(raw: str, default_country: str | None, e164: str, country: str) -> None:
    assert parse_phone(raw, default_country) == PhoneNumber(e164=e164, country=country)


@pytest.mark.parametrize(
    ("raw", "default_country", "reason_part"),
    [
        ("", None, "empty"),
        ("   ", "GH", "empty"),
        ("+", None, "no digits"),
        ("00", None, "no digits"),
        ("+44 7700 9OO123", None, "characters other than digits"),
        ("+44 7700 900123 ext 5", None, "characters other than digits"),
        ("call 0201234567", "GH", "characters other than digits"),
        ("+44+7700900123", None, "'+' is allowed only at the start"),
        ("0201+234567", "GH", "'+' is allowed only at the start"),
        ("+²33201234567", None, "characters other than digits"),
        ("+999 1234 5678", None, "unsupported country calling code"),
        ("+0 1234 5678", None, "unsupported country calling code"),
        ("+850 1234 5678", None, "unsupported country calling code"),
        ("+23320123456", None, "too short for GH"),
        ("+2332012345678", None, "too long for GH"),
        ("+44 7700 90012", None, "too short for GB"),
        ("+234 803 123 456", None, "wrong length for NG"),
        ("+1234567890123456", None, "E.164 allows at most 15"),
        ("0201234567", None, "national number without default country"),
        ("0201234567", "XX", "unsupported default country"),
        ("020123456", "GH", "GH numbers do not start with 0"),
        ("+44 07700 900123", None, "too long for GB"),
        ("+49 0151 2345678", None, "DE numbers do not start with 0"),
        ("+1 023 555 0123", None, "US numbers do not start with 0"),
        ("+1 123 555 0123", None, "NANP area and exchange codes start with 2-9"),
        ("+1 202 155 0123", None, "NANP area and exchange codes start with 2-9"),
        ("+1 202 555 012", None, "too short for US"),
    ],
)
def test_invalid_numbers(raw: str, default_country: str | None, reason_part: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        parse_phone(raw, default_country)
    error = raised.value
    assert error.code == "INVALID_PHONE_NUMBER"
    assert set(error.details) == {"phone", "reason"}
    assert error.details["phone"] == raw
    assert reason_part in error.details["reason"]


def test_known_countries_cover_the_table() -> None:
    assert len(KNOWN_COUNTRIES) >= 60
    assert {"US", "CA", "GB", "GH", "NG", "KE", "ZA", "IN", "DE", "FR"} <= KNOWN_COUNTRIES
    assert {row[0] for row in COUNTRIES} == KNOWN_COUNTRIES


def test_country_table_is_well_formed() -> None:
    for iso2, name, calling_code, trunk, lengths in COUNTRIES:
        assert len(iso2) == 2 and iso2.isupper(), iso2
        assert name
        assert calling_code.isdigit() and 1 <= len(calling_code) <= 3, iso2
        assert trunk == "" or trunk.isdigit(), iso2
        assert lengths == tuple(sorted(set(lengths))), iso2
        assert all(len(calling_code) + n <= 15 for n in lengths), iso2
    for prefixes in NSN_PREFIX_COUNTRIES.values():
        assert set(prefixes.values()) <= KNOWN_COUNTRIES


# A valid number for a country: first digit 2-9 satisfies every plan here
# (including NANP, whose area code starts with 2-9); for NANP the exchange code
# digit is forced to 2-9 as well.
@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(calling code, trunk prefix, national significant number, iso2)."""
    iso2, _name, calling_code, trunk, lengths = draw(st.sampled_from(COUNTRIES))
    length = draw(st.sampled_from(lengths))
    digits = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    nsn = draw(st.sampled_from("23456789")) + digits
    if calling_code == "1":
        nsn = nsn[:3] + draw(st.sampled_from("23456789")) + nsn[4:]
    return calling_code, trunk, nsn, iso2


@given(number=valid_numbers(), separator=st.sampled_from(["", " ", "-", "."]))
def test_parsed_numbers_round_trip(number: tuple[str, str, str, str], separator: str) -> None:
    calling_code, trunk, nsn, iso2 = number
    half = len(nsn) // 2
    formatted = f"+{calling_code}{separator}{nsn[:half]}{separator}{nsn[half:]}"
    parsed = parse_phone(formatted)
    assert parsed.e164 == f"+{calling_code}{nsn}"
    assert parsed == parse_phone(parsed.e164)
    assert parse_phone("00" + calling_code + nsn) == parsed
    assert parse_phone(trunk + nsn, iso2) == parsed
    shared = NSN_PREFIX_COUNTRIES.get(calling_code)
    if shared is None:
        assert parsed.country == iso2


@given(raw=st.text(max_size=25), default_country=st.sampled_from([None, "GH", "US", "GB", "DE"]))
def test_any_input_parses_idempotently_or_raises_invalid(
    raw: str, default_country: str | None
) -> None:
    try:
        parsed = parse_phone(raw, default_country)
    except InvalidPhoneNumber as error:
        assert error.details["phone"] == raw
        return
    assert parsed.e164.startswith("+") and parsed.e164[1:].isdigit()
    assert parse_phone(parsed.e164) == parsed
    assert parsed.country in KNOWN_COUNTRIES


@given(
    digits=st.text(alphabet="0123456789", min_size=1, max_size=16),
    default_country=st.sampled_from([None, "GH", "US"]),
)
def test_digit_strings_parse_idempotently_or_raise_invalid(
    digits: str, default_country: str | None
) -> None:
    for raw in (digits, "+" + digits, "00" + digits):
        try:
            parsed = parse_phone(raw, default_country)
        except InvalidPhoneNumber:
            continue
        assert parse_phone(parsed.e164) == parsed
        assert len(parsed.e164) <= 16
