"""Template helpers of the review screen's editable lines and tax breakdown."""

from __future__ import annotations

from decimal import Decimal

from django import template

from apinvoices.money import quantize_amount, rounding_tolerance

register = template.Library()


@register.filter
def decimal_input(value, currency: str = "") -> str:
    """A Decimal as an input's value: an amount at its currency's minor unit (``100.00``), any
    other number without trailing zeros (``2``, ``19.5``); blank for None. Never a float."""
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if currency:
        return str(quantize_amount(value, currency))
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def price_input(value, currency: str = "") -> str:
    """A unit price as an input's value: at least the currency's minor unit (``237.00``), more
    digits only where the price has them (``33.3333``)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    at_minor = quantize_amount(value, currency or "EUR")
    return str(at_minor) if at_minor == value else decimal_input(value)


@register.filter
def line_sums(invoice) -> dict:
    """Sum of the (prefetched) line amounts and whether it disagrees with the net amount by
    more than one minor unit per line (the arithmetic check's own tolerance)."""
    lines = list(invoice.lines.all())
    amounts = [line.amount for line in lines if line.amount is not None]
    total = sum(amounts, Decimal(0))
    currency = invoice.currency or "EUR"
    mismatch = (
        invoice.net_amount is not None
        and bool(amounts)
        and len(amounts) == len(lines)
        and abs(total - invoice.net_amount) > rounding_tolerance(currency, units=max(1, len(lines)))
    )
    return {"count": len(amounts), "total": total, "mismatch": mismatch}
