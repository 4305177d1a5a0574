"""E.164 validation of recipient numbers, with national formats for input,
and the reading of numbers as carriers report them.

Bulk sends validate every recipient, so a number already in E.164 form takes a
fast path: one `isdigit` check, at most three dict look-ups for the calling code
and a set membership test for the length. Everything that needs cleaning up
(formatting characters, a `00` prefix, a national number) takes the slow path
and is then validated by the same code.

Carriers report a sender's number the way their network holds it: digits
with a type of number and a numbering plan (SMPP's TON and NPI, the fields of
3GPP TS 23.040), often without a "+". `parse_carrier_number` reads them into
the same E.164 form, so that a reply is matched, and an opt-out recorded,
under the number sends are checked against.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NoReturn

from domain.errors import InvalidPhoneNumber
from domain.messaging.countries import (
    COUNTRIES,
    LEADING_ZERO_COUNTRIES,
    NSN_PREFIX_COUNTRIES,
)

E164_MAX_DIGITS: Final = 15

# Type of number (TON) and numbering plan (NPI) of a network address, as SMPP
# 3.4 (5.2.5, 5.2.6) and GSM 03.40 define them. The other types (network
# specific, subscriber, alphanumeric, abbreviated) are not E.164 numbers.
TON_UNKNOWN: Final = 0
TON_INTERNATIONAL: Final = 1
TON_NATIONAL: Final = 2
NPI_UNKNOWN: Final = 0
NPI_ISDN: Final = 1  # E.164
NPI_NATIONAL: Final = 8
_TELEPHONE_PLANS: Final = frozenset({NPI_UNKNOWN, NPI_ISDN, NPI_NATIONAL})


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    e164: str
    country: str


@dataclass(frozen=True, slots=True)
class _Country:
    iso2: str
    calling_code: str
    trunk_prefix: str
    nsn_lengths: frozenset[int]
    leading_zero_ok: bool
    is_nanp: bool


@dataclass(frozen=True, slots=True)
class _CallingCode:
    """One calling code, with the countries behind it when it is shared."""

    home: _Country
    by_prefix: dict[str, _Country]
    prefix_lengths: tuple[int, ...]  # longest first


def _build_tables() -> tuple[dict[str, _Country], dict[str, _CallingCode]]:
    by_iso2: dict[str, _Country] = {}
    for iso2, _name, code, trunk, lengths in COUNTRIES:
        assert iso2 not in by_iso2, f"duplicate country {iso2}"
        by_iso2[iso2] = _Country(
            iso2, code, trunk, frozenset(lengths), iso2 in LEADING_ZERO_COUNTRIES, code == "1"
        )
    by_code: dict[str, _CallingCode] = {}
    for code in sorted({country.calling_code for country in by_iso2.values()}):
        prefixes = NSN_PREFIX_COUNTRIES.get(code, {})
        members = [c for c in by_iso2.values() if c.calling_code == code]
        homes = [c for c in members if c.iso2 not in prefixes.values()]
        assert len(homes) == 1, f"calling code {code} needs exactly one home country"
        by_code[code] = _CallingCode(
            home=homes[0],
            by_prefix={prefix: by_iso2[iso2] for prefix, iso2 in prefixes.items()},
            prefix_lengths=tuple(sorted({len(p) for p in prefixes}, reverse=True)),
        )
    return by_iso2, by_code


_BY_ISO2, _BY_CALLING_CODE = _build_tables()
_MAX_CALLING_CODE_DIGITS: Final = max(len(code) for code in _BY_CALLING_CODE)

# Separators people type between digit groups; they carry no meaning.
_FORMATTING: Final = str.maketrans("", "", " \t-.()")

KNOWN_COUNTRIES: Final[frozenset[str]] = frozenset(_BY_ISO2)


def parse_phone(raw: str, default_country: str | None = None) -> PhoneNumber:
    """Validate `raw` and return it in E.164 form with its country.

    Accepts `+<digits>`, `00<digits>` and, given `default_country`, national
    numbers with or without the country's trunk prefix. Raises InvalidPhoneNumber.
    """
    digits = raw[1:]
    if raw[:1] == "+" and digits.isdigit() and digits.isascii():
        return _from_international(raw, digits, raw)
    return _parse_formatted(raw, default_country)


def _parse_formatted(raw: str, default_country: str | None) -> PhoneNumber:
    international, digits = _written_internationally(raw, _without_formatting(raw))
    return international or _from_national(raw, digits, default_country)


def _written_internationally(raw: str, text: str) -> tuple[PhoneNumber | None, str]:
    """A number written with "+" or "00" is international, whatever else is
    said of it; (that number, ""), else (None, its digits)."""
    if text[0] == "+":
        return _from_international(raw, _ascii_digits(raw, text[1:]), None), ""
    digits = _ascii_digits(raw, text)
    if digits.startswith("00"):
        return _from_international(raw, digits[2:], None), ""
    return None, digits


def _without_formatting(raw: str) -> str:
    text = raw.strip()
    # "+44 (0)20 ..." marks the trunk prefix used only when dialling nationally.
    if text.startswith("+") and "(0)" in text:
        text = text.replace("(0)", "", 1)
    text = text.translate(_FORMATTING)
    if not text:
        _reject(raw, "empty")
    return text


def parse_carrier_number(
    raw: str, *, ton: int = TON_UNKNOWN, npi: int = NPI_ISDN, country: str | None = None
) -> PhoneNumber:
    """Read a number as a carrier reported it, in E.164 form.

    `ton` and `npi` say how the carrier wrote it; `country` is the country of
    the route it came by, for numbers written nationally. A "+" or "00"
    prefix is international whatever the type says. International digits
    are read as such, national ones with `country`; a type that does not fit
    the digits (carriers get it wrong) falls back to reading an unknown type.
    For an unknown type (TON 0, as many SMSCs send every number):
    - the route country's trunk prefix followed by a valid national number is
      that national number (`07911500007` on a GB route);
    - otherwise digits that begin with a country code and are valid after it
      are international (`447911500007`);
    - otherwise they are a national number of the route's country.
    A carrier that sends national numbers without a trunk prefix should say
    so with TON 2: with TON 0 such digits are read internationally first.
    Raises InvalidPhoneNumber, also for addresses that are not telephone
    numbers (short codes with other types, alphanumeric senders).
    """
    if ton not in (TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL) or npi not in _TELEPHONE_PLANS:
        _reject(raw, f"not a telephone number (TON {ton}, NPI {npi})")
    international, digits = _written_internationally(raw, _without_formatting(raw))
    if international is not None:
        return international
    home = _BY_ISO2.get(country.upper()) if country else None
    read: PhoneNumber | None = None
    if ton == TON_INTERNATIONAL:
        read = _valid_or_none(_from_international, raw, digits, None)
    elif ton == TON_NATIONAL and home is not None:
        read = _valid_or_none(_from_national, raw, digits, home.iso2)
    return read or _of_unknown_type(raw, digits, home)


def _of_unknown_type(raw: str, digits: str, home: _Country | None) -> PhoneNumber:
    if home is not None and home.trunk_prefix and digits.startswith(home.trunk_prefix):
        nsn = digits[len(home.trunk_prefix) :]
        if len(nsn) in home.nsn_lengths:
            read = _valid_or_none(_from_international, raw, home.calling_code + nsn, None)
            if read is not None:
                return read
    if home is None:
        return _from_international(raw, digits, None)
    return _valid_or_none(_from_international, raw, digits, None) or _from_national(
        raw, digits, home.iso2
    )


def _valid_or_none(
    read: Callable[[str, str, str | None], PhoneNumber], raw: str, digits: str, extra: str | None
) -> PhoneNumber | None:
    try:
        return read(raw, digits, extra)
    except InvalidPhoneNumber:
        return None


def country_of_prefix(prefix: str) -> str | None:
    """The country an E.164 prefix such as a route's (`+44`, `+1416`) is in,
    when it holds a whole calling code; None for `+` or a partial code. A
    calling code shared by several countries gives its main country unless
    the prefix goes on far enough to tell them apart; for reading national
    numbers they are alike."""
    digits = prefix.removeprefix("+")
    if not digits.isdigit() or not digits.isascii():
        return None
    for code_length in range(min(_MAX_CALLING_CODE_DIGITS, len(digits)), 0, -1):
        calling_code = _BY_CALLING_CODE.get(digits[:code_length])
        if calling_code is not None:
            return _country_for(calling_code, digits[code_length:]).iso2
    return None


def _ascii_digits(raw: str, text: str) -> str:
    """Return `text` as ASCII digits, converting other scripts' decimal digits."""
    if not text or (text.isascii() and text.isdigit()):
        return text
    if "+" in text:
        _reject(raw, "'+' is allowed only at the start")
    if not text.isdecimal():
        _reject(raw, "contains characters other than digits and separators")
    # Arabic-Indic, Devanagari, full-width ... digits are still digits.
    return "".join(str(unicodedata.decimal(char)) for char in text)


def _from_international(raw: str, digits: str, e164: str | None) -> PhoneNumber:
    if not digits:
        _reject(raw, "no digits after the international prefix")
    if len(digits) > E164_MAX_DIGITS:
        _reject(raw, f"too long: {len(digits)} digits, E.164 allows at most {E164_MAX_DIGITS}")
    for code_length in range(min(_MAX_CALLING_CODE_DIGITS, len(digits)), 0, -1):
        calling_code = _BY_CALLING_CODE.get(digits[:code_length])
        if calling_code is not None:
            nsn = digits[code_length:]
            country = _country_for(calling_code, nsn)
            _check_nsn(raw, country, nsn)
            return PhoneNumber("+" + digits if e164 is None else e164, country.iso2)
    _reject(raw, "unsupported country calling code")


def _country_for(calling_code: _CallingCode, nsn: str) -> _Country:
    for prefix_length in calling_code.prefix_lengths:
        country = calling_code.by_prefix.get(nsn[:prefix_length])
        if country is not None:
            return country
    return calling_code.home


def _check_nsn(raw: str, country: _Country, nsn: str) -> None:
    length = len(nsn)
    if length not in country.nsn_lengths:
        _reject_length(raw, country, length)
    if nsn[0] == "0" and not country.leading_zero_ok:
        _reject(raw, f"{country.iso2} numbers do not start with 0 after the calling code")
    # NANP area codes and exchange codes both start with 2-9; 0 and 1 there
    # are operator and long-distance prefixes, never part of a number.
    if country.is_nanp and (nsn[0] < "2" or nsn[3] < "2"):
        _reject(raw, "NANP area and exchange codes start with 2-9")


def _from_national(raw: str, digits: str, default_country: str | None) -> PhoneNumber:
    if default_country is None:
        _reject(raw, "national number without default country")
    country = _BY_ISO2.get(default_country.upper())
    if country is None:
        _reject(raw, f"unsupported default country {default_country!r}")
    if len(digits) > E164_MAX_DIGITS:
        _reject(raw, f"too long: {len(digits)} digits, E.164 allows at most {E164_MAX_DIGITS}")
    lengths = country.nsn_lengths
    trunk = country.trunk_prefix
    if trunk and digits.startswith(trunk) and len(digits) - len(trunk) in lengths:
        # The trunk prefix is dialled only inside the country; only strip it
        # when what remains is a valid length, since some NSNs begin with the
        # same digit (Russian 800 numbers behind trunk prefix 8).
        digits = digits[len(trunk) :]
    elif len(digits) not in lengths and digits.startswith(country.calling_code):
        # Spreadsheets often drop the "+" from international numbers.
        return _from_international(raw, digits, None)
    return _from_international(raw, country.calling_code + digits, None)


def _reject_length(raw: str, country: _Country, length: int) -> NoReturn:
    lengths = sorted(country.nsn_lengths)
    if len(lengths) == 1:
        expected = str(lengths[0])
    elif lengths[-1] - lengths[0] == len(lengths) - 1:
        expected = f"{lengths[0]}-{lengths[-1]}"
    else:
        expected = " or ".join(str(n) for n in lengths)
    if length < lengths[0]:
        problem = "too short"
    elif length > lengths[-1]:
        problem = "too long"
    else:
        problem = "wrong length"
    _reject(
        raw,
        f"{problem} for {country.iso2}: national number has {length} digits, expected {expected}",
    )


def _reject(raw: str, reason: str) -> NoReturn:
    raise InvalidPhoneNumber(f"invalid phone number: {reason}", phone=raw, reason=reason)
