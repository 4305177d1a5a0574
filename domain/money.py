"""Money as integer micros of a currency.

One currency unit is 1,000,000 micros. Every amount in a money path is an `int`
of micros; a float never touches a balance. Decimal appears only at the edges,
to parse what a person typed ("10.00") and to show a cost ("0.035").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from domain.errors import CurrencyMismatch, InvalidAmount

MICROS_PER_UNIT = 1_000_000

# ISO 4217 minor-unit exponents for the currencies we bill in. A currency that
# is missing here cannot be billed, which keeps a typo from opening a wallet.
MINOR_UNIT_EXPONENTS: dict[str, int] = {
    "GBP": 2,
    "USD": 2,
    "EUR": 2,
}


def ensure_currency(currency: str) -> str:
    if currency not in MINOR_UNIT_EXPONENTS:
        raise InvalidAmount(
            f"Unsupported currency {currency!r}",
            currency=currency,
            supported=sorted(MINOR_UNIT_EXPONENTS),
        )
    return currency


def parse_amount_micros(text: str, currency: str) -> int:
    """Parse a decimal amount in currency units ("10.00") into micros.

    More decimal places than the currency has minor units is refused rather
    than rounded, so that nobody is credited a fraction they did not pay.
    """
    ensure_currency(currency)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidAmount(f"Not a decimal amount: {text!r}", amount=text) from None
    if not value.is_finite():
        raise InvalidAmount(f"Not a finite amount: {text!r}", amount=text)
    exponent = MINOR_UNIT_EXPONENTS[currency]
    if value != value.quantize(Decimal(1).scaleb(-exponent)):
        raise InvalidAmount(
            f"{currency} amounts have at most {exponent} decimal places",
            amount=text,
        )
    return int(value * MICROS_PER_UNIT)


def micros_to_minor_units(amount_micros: int, currency: str) -> int:
    """Whole minor units (pence, cents), rounded toward negative infinity.

    Flooring never shows a customer more money than they have.
    """
    factor = MICROS_PER_UNIT // 10 ** MINOR_UNIT_EXPONENTS[ensure_currency(currency)]
    return int(amount_micros // factor)


def micros_to_minor_units_ceiling(amount_micros: int, currency: str) -> int:
    """Whole minor units rounded up: a cost or a hold is never understated."""
    factor = MICROS_PER_UNIT // 10 ** MINOR_UNIT_EXPONENTS[ensure_currency(currency)]
    return int(-(-amount_micros // factor))


def micros_to_decimal(amount_micros: int) -> Decimal:
    """Exact decimal currency units, for display only."""
    return (Decimal(amount_micros) / MICROS_PER_UNIT).quantize(
        Decimal("0.000001"), rounding=ROUND_FLOOR
    ).normalize()


@dataclass(frozen=True, slots=True)
class Money:
    amount_micros: int
    currency: str

    def __post_init__(self) -> None:
        assert isinstance(self.amount_micros, int), "money is integer micros"

    def __add__(self, other: Money) -> Money:
        self._check_same_currency(other)
        return Money(self.amount_micros + other.amount_micros, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check_same_currency(other)
        return Money(self.amount_micros - other.amount_micros, self.currency)

    def _check_same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {self.currency} with {other.currency}",
                left=self.currency,
                right=other.currency,
            )


def minor_units_to_micros(amount_minor: int, currency: str) -> int:
    """Exact micros of a whole number of minor units (pence, cents)."""
    factor = MICROS_PER_UNIT // 10 ** MINOR_UNIT_EXPONENTS[ensure_currency(currency)]
    return int(amount_minor * factor)
