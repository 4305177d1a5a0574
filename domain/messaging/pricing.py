"""Rate cards: what one SMS segment to a country costs, in integer micros.

Money is never a float here: 1 currency unit = 1,000,000 micros, and a price is
the per-segment price times the segment count, which stays exact in `int`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from domain.errors import DomainError, UnsupportedDestination

MICROS_PER_UNIT: Final = 1_000_000


@dataclass(frozen=True)
class RateCard:
    """Per-segment prices in one currency, keyed by ISO 3166-1 alpha-2 country."""

    currency: str
    prices_micros: Mapping[str, int] = field(hash=False)

    def __post_init__(self) -> None:
        if not _is_currency_code(self.currency):
            raise DomainError(
                f"currency must be a three-letter ISO 4217 code, got {self.currency!r}",
                currency=self.currency,
            )
        _check_prices(self.prices_micros)
        # A card is shared by every send priced with it; a private read-only
        # copy keeps a caller's later edits to its dict from changing prices.
        object.__setattr__(self, "prices_micros", MappingProxyType(dict(self.prices_micros)))

    @property
    def countries(self) -> frozenset[str]:
        return frozenset(self.prices_micros)

    def price_per_segment_micros(self, country: str) -> int:
        try:
            return self.prices_micros[country]
        except KeyError:
            raise UnsupportedDestination(
                f"no {self.currency} price for destination {country!r}",
                country=country,
                currency=self.currency,
            ) from None

    def price_micros(self, country: str, segments: int) -> int:
        """Price of a message of `segments` segments to `country`."""
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 0:
            raise DomainError(
                f"segments must be a non-negative integer, got {segments!r}",
                segments=segments,
            )
        return self.price_per_segment_micros(country) * segments

    def with_overrides(self, overrides: Mapping[str, int]) -> RateCard:
        """Return a card where `overrides` (an account's negotiated prices) win.

        An override may also price a country the base card lacks: it is an
        explicit price agreed for that account.
        """
        _check_prices(overrides)
        return RateCard(self.currency, {**self.prices_micros, **overrides})


class RateBook:
    """One rate card per currency."""

    __slots__ = ("_cards",)

    def __init__(self, cards: Iterable[RateCard]) -> None:
        by_currency: dict[str, RateCard] = {}
        for card in cards:
            if card.currency in by_currency:
                raise DomainError(
                    f"two rate cards for currency {card.currency}", currency=card.currency
                )
            by_currency[card.currency] = card
        self._cards: Mapping[str, RateCard] = MappingProxyType(by_currency)

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self._cards)

    def card(self, currency: str) -> RateCard:
        try:
            return self._cards[currency]
        except KeyError:
            raise UnsupportedDestination(
                f"no rate card in currency {currency!r}", currency=currency
            ) from None

    def __repr__(self) -> str:
        return f"RateBook(currencies={sorted(self._cards)})"


def _check_prices(prices_micros: Mapping[str, int]) -> None:
    for country, price in prices_micros.items():
        if not _is_country_code(country):
            raise DomainError(
                f"country must be an ISO 3166-1 alpha-2 code, got {country!r}",
                country=country,
            )
        # bool is an int subclass, but True is not a price anyone meant.
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise DomainError(
                f"price for {country} must be a non-negative integer of micros, got {price!r}",
                country=country,
                price_micros=price,
            )


def _is_country_code(code: object) -> bool:
    return _is_upper_letters(code, 2)


def _is_currency_code(code: object) -> bool:
    return _is_upper_letters(code, 3)


def _is_upper_letters(code: object, length: int) -> bool:
    return (
        isinstance(code, str)
        and len(code) == length
        and code.isascii()
        and code.isalpha()
        and code.isupper()
    )
