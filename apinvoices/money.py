"""Money helpers: amounts are Decimal next to an ISO 4217 code; round only at the edges."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import iso4217

# Column sizes used by every money field in the project. Three decimals hold the currencies
# with the finest minor unit (BHD, KWD, OMR); 18 digits hold any invoice total.
AMOUNT_MAX_DIGITS = 18
AMOUNT_DECIMAL_PLACES = 3
QUANTITY_MAX_DIGITS = 18
QUANTITY_DECIMAL_PLACES = 4
UNIT_PRICE_DECIMAL_PLACES = 6
CURRENCY_CODE_LENGTH = 3
DEFAULT_CURRENCY = "EUR"


def currency_exponent(currency: str) -> int:
    """Minor-unit digits of a currency (JPY 0, EUR 2, BHD 3); unknown codes use 2."""
    try:
        exponent = iso4217.Currency(currency.upper()).exponent
    except (ValueError, KeyError, AttributeError):
        return 2
    return 2 if exponent is None else int(exponent)


def is_known_currency(currency: str) -> bool:
    try:
        iso4217.Currency(currency.upper())
    except (ValueError, KeyError, AttributeError):
        return False
    return True


def quantize_amount(value: Decimal | int | str, currency: str) -> Decimal:
    """Round ``value`` half-up to the currency's minor unit. Never accepts floats."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    amount = value if isinstance(value, Decimal) else Decimal(value)
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_HALF_UP)


def rounding_tolerance(currency: str, *, units: int = 1) -> Decimal:
    """The smallest difference worth reporting: ``units`` minor units of the currency."""
    return Decimal(units).scaleb(-currency_exponent(currency))


def format_amount(value: Decimal | None, currency: str) -> str:
    """``1234.5, 'EUR'`` -> ``'1,234.50'`` (the currency code is shown beside it, not here)."""
    if value is None:
        return ""
    return f"{quantize_amount(value, currency):,}"
