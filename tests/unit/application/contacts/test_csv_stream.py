"""CSV records from a byte stream: the same records, with the same line
numbers, however the bytes are cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.contacts.csv_stream import CsvRecords
from application.errors import ValidationFailed

MESSY = (
    "\ufeffphone,name,email,tier\r\n"
    '07700 900002,"Bob Jones, Jr.",bob@example.com,"Gold, annual"\r\n'
    '"+447700900005","Multi\nLine ""quoted""",m@example.com,Zoë\n'
    "\n"
    "+447700900006,Émile Zola,,\n"
    "+447700900007,Last line without newline,,x"
).encode()

EXPECTED = [
    (1, ["phone", "name", "email", "tier"]),
    (2, ["07700 900002", "Bob Jones, Jr.", "bob@example.com", "Gold, annual"]),
    (3, ["+447700900005", 'Multi\nLine "quoted"', "m@example.com", "Zoë"]),
    (5, []),
    (6, ["+447700900006", "Émile Zola", "", ""]),
    (7, ["+447700900007", "Last line without newline", "", "x"]),
]


def parse(data: bytes, cuts: list[int]) -> list[tuple[int, list[str]]]:
    records = CsvRecords()
    found = []
    start = 0
    for cut in sorted(cuts):
        found += records.feed(data[start:cut])
        start = cut
    found += records.feed(data[start:])
    return found + records.finish()


def test_one_piece() -> None:
    assert parse(MESSY, []) == EXPECTED


@given(st.lists(st.integers(0, len(MESSY)), max_size=12))
def test_any_cuts(cuts: list[int]) -> None:
    assert parse(MESSY, cuts) == EXPECTED


def test_an_unclosed_quote_and_bad_bytes_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        parse(b'phone\n"+4477009', [])
    with pytest.raises(ValidationFailed):
        parse(b"phone\n\xff\xfe\n", [])
