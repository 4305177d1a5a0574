"""Load the rate book from a CSV file: one row per country, one column per currency.

The file is operator-edited data, so every refusal names the file and line and
says what was expected there; a broken card must fail at start-up, not price a
send wrongly.
"""

from __future__ import annotations

import csv
import io
import pathlib
import re
from typing import Final

from domain.errors import DomainError
from domain.messaging.phone import KNOWN_COUNTRIES
from domain.messaging.pricing import RateBook, RateCard

DEFAULT_RATE_CARD_PATH: Final = pathlib.Path(__file__).with_name("default_rate_card.csv")

_LEADING_COLUMNS: Final = ("country", "name")
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
_MICROS: Final = re.compile(r"[0-9]+")


class RateCardFileError(ValueError):
    """The rate card file is malformed; the message names the file and line."""

    def __init__(self, path: pathlib.Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def load_rate_book(path: pathlib.Path | None = None) -> RateBook:
    """Read the rate card CSV at `path` (default: the card shipped beside this module)."""
    path = DEFAULT_RATE_CARD_PATH if path is None else path
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise RateCardFileError(path, 1, "file is empty; expected a header line")
        currencies = _parse_header(path, [cell.strip() for cell in header])
        prices: dict[str, dict[str, int]] = {currency: {} for currency in currencies}
        seen_on_line: dict[str, int] = {}
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line carries no price
            # line_num, not a row count: a quoted field may span lines.
            line = reader.line_num
            country = _parse_row(path, line, [cell.strip() for cell in row], currencies, prices)
            if country in seen_on_line:
                raise RateCardFileError(
                    path, line, f"country {country} already priced on line {seen_on_line[country]}"
                )
            seen_on_line[country] = line
    except csv.Error as error:
        raise RateCardFileError(path, reader.line_num, f"malformed CSV: {error}") from error
    if not seen_on_line:
        raise RateCardFileError(path, reader.line_num, "no country rows after the header")
    try:
        return RateBook(RateCard(currency, prices[currency]) for currency in currencies)
    except DomainError as error:  # the checks above should leave nothing for these
        raise RateCardFileError(path, 1, error.message) from error


def _read_text(path: pathlib.Path) -> str:
    data = path.read_bytes()
    try:
        # utf-8-sig: spreadsheet programs often save a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RateCardFileError(path, line, "not valid UTF-8") from error


def _parse_header(path: pathlib.Path, header: list[str]) -> tuple[str, ...]:
    expected = "country,name,<CURRENCY>[,<CURRENCY>...] e.g. country,name,GBP,USD,EUR"
    if tuple(header[:2]) != _LEADING_COLUMNS or len(header) < 3:
        raise RateCardFileError(path, 1, f"header is {','.join(header)!r}; expected {expected}")
    currencies = tuple(header[2:])
    for currency in currencies:
        if not _CURRENCY.fullmatch(currency):
            raise RateCardFileError(
                path, 1, f"column {currency!r} is not a three-letter ISO 4217 currency code"
            )
    if len(set(currencies)) != len(currencies):
        raise RateCardFileError(path, 1, "a currency column appears twice")
    return currencies


def _parse_row(
    path: pathlib.Path,
    line: int,
    row: list[str],
    currencies: tuple[str, ...],
    prices: dict[str, dict[str, int]],
) -> str:
    """Check one row, add its prices to `prices` and return its country."""
    if len(row) != len(currencies) + 2:
        raise RateCardFileError(
            path, line, f"has {len(row)} fields; expected {len(currencies) + 2}"
        )
    country, name = row[0], row[1]
    if country not in KNOWN_COUNTRIES:
        raise RateCardFileError(
            path,
            line,
            f"country {country!r} is not an ISO 3166-1 alpha-2 code of a supported destination",
        )
    if not name.strip():
        raise RateCardFileError(path, line, f"country {country} has an empty name")
    for currency, cell in zip(currencies, row[2:], strict=True):
        if not _MICROS.fullmatch(cell):
            raise RateCardFileError(
                path,
                line,
                f"{currency} price for {country} is {cell!r}; expected a non-negative "
                "integer number of micros (1 unit = 1,000,000 micros)",
            )
        prices[currency][country] = int(cell)
    return country
