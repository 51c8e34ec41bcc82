"""Presentation helpers shared by every page: state badges, money, confidence colours."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.html import format_html

from apinvoices.models import Invoice
from apinvoices.money import format_amount

register = template.Library()

# Thresholds of the confidence colours (green / amber / red); the same everywhere.
CONFIDENCE_HIGH = Decimal("0.9")
CONFIDENCE_MEDIUM = Decimal("0.6")

_STATE_LABELS = dict(Invoice.State.choices)


@register.filter
def state_badge(state: str):
    """``"needs_review"`` -> a coloured badge reading "Needs review" (one colour per state)."""
    if not state:
        return ""
    label = _STATE_LABELS.get(state, state.replace("_", " ").capitalize())
    return format_html('<span class="badge state-badge state-{}">{}</span>', state, label)


@register.filter
def money(value, currency: str = ""):
    """An amount rounded to its currency's minor unit, with the code beside it; never a float."""
    if value is None or value == "":
        return format_html('<span class="text-body-tertiary">{}</span>', "—")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return value
    text = format_amount(amount, currency or "EUR")
    if amount < 0:
        text = "\u2212" + text.lstrip("-")
    return format_html(
        '<span class="amount">{}&nbsp;<span class="ccy">{}</span></span>', text, currency or ""
    )


@register.filter
def confidence_level(value) -> str:
    """``high`` (≥ 0.9), ``medium`` (≥ 0.6), ``low`` below, ``none`` when unknown."""
    if value is None or value == "":
        return "none"
    value = Decimal(str(value))
    if value >= CONFIDENCE_HIGH:
        return "high"
    if value >= CONFIDENCE_MEDIUM:
        return "medium"
    return "low"


@register.filter
def confidence_badge(value):
    level = confidence_level(value)
    if level == "none":
        return format_html('<span class="conf conf-none" title="{}">—</span>', "No confidence recorded")
    percent = int((Decimal(str(value)) * 100).to_integral_value())
    return format_html('<span class="conf conf-{}" title="Confidence">{}%</span>', level, percent)


@register.filter
def days_since(value: datetime | None) -> int | str:
    if value is None:
        return ""
    return max(0, (timezone.now() - value).days)


@register.filter
def iban(value: str) -> str:
    """``DE44500105175407324931`` -> ``DE44 5001 0517 5407 3249 31`` (groups of four, for reading)."""
    compact = "".join((value or "").split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
