"""Rate cards in integer micros, and the CSV loader for the shipped card."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.pricing.loader import DEFAULT_RATE_CARD_PATH, RateCardFileError, load_rate_book
from domain.errors import DomainError, UnsupportedDestination
from domain.messaging.countries import COUNTRIES, NSN_PREFIX_COUNTRIES
from domain.messaging.phone import KNOWN_COUNTRIES, parse_phone
from domain.messaging.pricing import MICROS_PER_UNIT, RateBook, RateCard

CARD = RateCard("GBP", {"GB": 35_000, "GH": 25_000, "US": 6_300})


def test_price_is_per_segment_price_times_segments() -> None:
    assert CARD.price_per_segment_micros("GB") == 35_000
    assert CARD.price_micros("GB", 1) == 35_000
    assert CARD.price_micros("GB", 3) == 105_000
    assert CARD.price_micros("GH", 10) == 250_000
    assert CARD.price_micros("US", 0) == 0
    assert MICROS_PER_UNIT == 1_000_000


@pytest.mark.parametrize("segments", [-1, 1.0, True, "2"])
def test_segments_must_be_a_non_negative_int(segments: object) -> None:
    with pytest.raises(DomainError):
        CARD.price_micros("GB", segments)  # type: ignore[arg-type]


def test_unsupported_country() -> None:
    with pytest.raises(UnsupportedDestination) as raised:
        CARD.price_micros("FR", 1)
    assert raised.value.code == "UNSUPPORTED_DESTINATION"
    assert raised.value.details == {"country": "FR", "currency": "GBP"}


def test_countries() -> None:
    assert CARD.countries == frozenset({"GB", "GH", "US"})


def test_overrides_win_and_leave_the_base_card_alone() -> None:
    custom = CARD.with_overrides({"GB": 20_000, "FR": 60_000})
    assert custom.price_per_segment_micros("GB") == 20_000
    assert custom.price_per_segment_micros("GH") == 25_000
    assert custom.price_per_segment_micros("FR") == 60_000
    assert custom.currency == "GBP"
    assert CARD.price_per_segment_micros("GB") == 35_000
    assert "FR" not in CARD.countries


@pytest.mark.parametrize(
    "overrides",
    [{"GB": -1}, {"GB": 1.5}, {"GB": True}, {"GB": "100"}, {"gb": 100}, {"GBR": 100}, {"G1": 1}],
)
def test_invalid_overrides_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(DomainError):
        CARD.with_overrides(overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("currency", "prices"),
    [("gbp", {"GB": 1}), ("GB", {"GB": 1}), ("GBP", {"GB": -5}), ("GBP", {"GB": 0.5})],
)
def test_invalid_cards_are_refused(currency: str, prices: dict[str, object]) -> None:
    with pytest.raises(DomainError):
        RateCard(currency, prices)  # type: ignore[arg-type]


def test_card_does_not_follow_later_edits_to_the_callers_dict() -> None:
    prices = {"GB": 35_000}
    card = RateCard("GBP", prices)
    prices["GB"] = 1
    assert card.price_per_segment_micros("GB") == 35_000
    with pytest.raises(TypeError):
        card.prices_micros["GB"] = 1  # type: ignore[index]


def test_rate_book() -> None:
    usd = RateCard("USD", {"US": 8_000})
    book = RateBook([CARD, usd])
    assert book.currencies == frozenset({"GBP", "USD"})
    assert book.card("USD") is usd
    with pytest.raises(UnsupportedDestination) as raised:
        book.card("JPY")
    assert raised.value.details == {"currency": "JPY"}
    with pytest.raises(DomainError):
        RateBook([CARD, CARD])


prices_strategy = st.dictionaries(
    st.sampled_from(sorted(KNOWN_COUNTRIES)), st.integers(0, 10**9), min_size=1
)


@given(prices=prices_strategy, data=st.data())
def test_price_is_linear_in_segments_and_never_negative(
    prices: dict[str, int], data: st.DataObject
) -> None:
    card = RateCard("EUR", prices)
    country = data.draw(st.sampled_from(sorted(prices)))
    a = data.draw(st.integers(0, 10))
    b = data.draw(st.integers(0, 10))
    price_a = card.price_micros(country, a)
    price_b = card.price_micros(country, b)
    assert card.price_micros(country, a + b) == price_a + price_b
    assert price_a == a * card.price_micros(country, 1)
    assert price_a >= 0


@given(prices=prices_strategy, overrides=prices_strategy)
def test_overrides_affect_only_their_countries(
    prices: dict[str, int], overrides: dict[str, int]
) -> None:
    card = RateCard("EUR", prices)
    custom = card.with_overrides(overrides)
    assert custom.countries == card.countries | overrides.keys()
    for country in custom.countries:
        expected = overrides[country] if country in overrides else prices[country]
        assert custom.price_per_segment_micros(country) == expected


# --- the shipped CSV -------------------------------------------------------


def test_loader_reads_the_shipped_card() -> None:
    book = load_rate_book()
    assert book.currencies == frozenset({"GBP", "USD", "EUR"})
    for currency in book.currencies:
        card = book.card(currency)
        assert len(card.countries) >= 25
        assert card.countries <= KNOWN_COUNTRIES
    gbp = book.card("GBP")
    assert 20_000 <= gbp.price_per_segment_micros("GB") <= 50_000  # about £0.035
    assert book.card("USD").price_per_segment_micros("US") < 20_000


def _example_number(country: str) -> str:
    """A number of `country` built from the numbering-plan table."""
    _iso2, _name, calling_code, _trunk, lengths = next(r for r in COUNTRIES if r[0] == country)
    prefixes = NSN_PREFIX_COUNTRIES.get(calling_code, {})
    prefix = next((p for p, iso2 in sorted(prefixes.items()) if iso2 == country), "")
    return "+" + calling_code + (prefix + "2" * lengths[-1])[: lengths[-1]]


def test_every_shipped_country_is_parseable() -> None:
    book = load_rate_book(DEFAULT_RATE_CARD_PATH)
    for currency in book.currencies:
        for country in book.card(currency).countries:
            assert parse_phone(_example_number(country)).country == country
            assert book.card(currency).price_micros(country, 2) > 0


def _write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "card.csv"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_HEADER = "country,name,GBP,USD,EUR\n"


@pytest.mark.parametrize(
    ("text", "line", "problem_part"),
    [
        ("", 1, "empty"),
        ("iso,name,GBP\nGB,United Kingdom,1\n", 1, "header"),
        ("country,name\nGB,United Kingdom\n", 1, "header"),
        ("country,name,GBP,gbp\nGB,United Kingdom,1,1\n", 1, "'gbp'"),
        ("country,name,GBP,GBP\nGB,United Kingdom,1,1\n", 1, "twice"),
        (GOOD_HEADER, 1, "no country rows"),
        (GOOD_HEADER + "GB,United Kingdom,35000,44000,40500\nXX,Nowhere,1,1,1\n", 3, "'XX'"),
        (GOOD_HEADER + "GB,United Kingdom,35000,44000,40500\ngh,Ghana,1,1,1\n", 3, "'gh'"),
        (GOOD_HEADER + "GB,United Kingdom,35000,44000\n", 2, "has 4 fields; expected 5"),
        (GOOD_HEADER + "GB,United Kingdom,35000,44000,-1\n", 2, "EUR price for GB is '-1'"),
        (GOOD_HEADER + "GB,United Kingdom,0.035,44000,40500\n", 2, "GBP price for GB is '0.035'"),
        (GOOD_HEADER + "GB,United Kingdom,35000,,40500\n", 2, "USD price for GB is ''"),
        (GOOD_HEADER + "GB,,35000,44000,40500\n", 2, "empty name"),
        (
            GOOD_HEADER + "GB,United Kingdom,1,1,1\n\nGH,Ghana,1,1,1\nGB,Britain,2,2,2\n",
            5,
            "already priced on line 2",
        ),
        (GOOD_HEADER + 'GH,"Gha\nna",1,1,1\nGB,United Kingdom,x,1,1\n', 4, "'x'"),
    ],
)
def test_loader_rejects_a_bad_csv_naming_the_line(
    tmp_path: pathlib.Path, text: str, line: int, problem_part: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RateCardFileError) as raised:
        load_rate_book(path)
    error = raised.value
    assert error.line == line
    assert problem_part in error.problem
    assert str(error).startswith(f"{path}:{line}: ")


def test_loader_accepts_spaces_a_bom_and_blank_lines(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "card.csv"
    text = "\ufeffcountry, name, GBP\n\nGB, United Kingdom, 35000\n"
    path.write_bytes((text + '"CI","Côte d\'Ivoire",1\n').encode())
    book = load_rate_book(path)
    assert book.card("GBP").prices_micros == {"GB": 35_000, "CI": 1}


def test_loader_rejects_non_utf8(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "card.csv"
    path.write_bytes(b"country,name,GBP\nGB,United Kingdom,1\nCI,C\xf4te,1\n")
    with pytest.raises(RateCardFileError) as raised:
        load_rate_book(path)
    assert raised.value.line == 3
