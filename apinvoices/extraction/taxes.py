"""The tax breakdown per rate, read from the positioned words of a PDF text layer or OCR.

Vendors print the VAT summary as one line per rate ("MwSt. 20 % 1.100,44 €", "19 % USt auf
1.000,00 190,00") or as a small table ("Netto Satz Steuer" over "8'265.71 8.1 % 669.52"). A
row is taken only when its numbers agree (tax = base × rate, to the cent), and the breakdown
only when it adds up to the invoice's tax and net: a breakdown that does not add up would be
a guess, and the header totals already say what the document states.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import permutations

from apinvoices.extraction.layout import Line, Page, amounts_in
from apinvoices.extraction.types import TaxBreakdown

# A rate as printed: "19 %", "8,1%", "20.00 %"; not part of a longer number.
_RATE = re.compile(r"(?<![\d.,'])(\d{1,2}(?:[.,]\d{1,3})?)\s?%")
MAX_RATE = Decimal("30")
# A rate printed alone in a rate column: "7", "19", "8.1".
_BARE_RATE = re.compile(r"\d{1,2}(?:[.,]\d{1,2})?")
CENT = Decimal("0.01")


def _agrees(base: Decimal, tax: Decimal, rate: Decimal) -> bool:
    """tax = base × rate, allowing the rounding of one amount (half a cent, plus the rate
    printed with fewer digits than it was computed with)."""
    expected = base * rate / 100
    return abs(expected - tax) <= CENT + abs(base) * Decimal("0.00005")


def _rows_in(line: Line, decimal_hint: str | None, *, bare_rates: bool = False):
    """(rate, base or None, tax) for each rate printed on ``line`` with money next to it.

    With ``bare_rates``, a line that prints no "%" may hold its rate as a bare number, as in a
    table whose header says "Steuersatz [%]" ("Umsatzsteuer (S) 275,00 7 19,25"); such a row
    counts only with a base and a tax that agree with it to the cent."""
    if bare_rates and not _RATE.search(line.text):
        yield from _bare_rate_rows(line, decimal_hint)
        return
    for match in _RATE.finditer(line.text):
        rate = Decimal(match.group(1).replace(",", "."))
        if rate > MAX_RATE:
            continue
        rate_words = {id(w) for w in line.words_in(match.start(), match.end())}
        amounts = [
            value
            for value, words, has_decimals in amounts_in(line, 0, decimal_hint)
            if has_decimals and not rate_words & {id(w) for w in words}
        ]
        pairs = [(b, t) for b, t in permutations(amounts, 2) if abs(b) >= abs(t) and _agrees(b, t, rate)]
        if pairs:
            base, tax = pairs[0]
            yield rate, base, tax
        elif len(amounts) == 1:
            yield rate, None, amounts[0]


def _bare_rate_rows(line: Line, decimal_hint: str | None):
    amounts = [
        (value, {id(w) for w in words})
        for value, words, has_decimals in amounts_in(line, 0, decimal_hint)
        if has_decimals
    ]
    for word in line.words:
        if not _BARE_RATE.fullmatch(word.text):
            continue
        rate = Decimal(word.text.replace(",", "."))
        if not 0 < rate <= MAX_RATE:
            continue
        money = [value for value, ids in amounts if id(word) not in ids]
        for base, tax in permutations(money, 2):
            if abs(base) > abs(tax) and _agrees(base, tax, rate):
                yield rate, base, tax
                return


def _full_rows(
    pages: list[Page], decimal_hint: str | None
) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """rate -> (base, tax) of every row whose tax is its base times its rate."""
    full: dict[Decimal, tuple[Decimal, Decimal]] = {}
    # The summary sits below the lines: read bottom-up so a line item's "20 %" column does not
    # shadow the summary row of the same rate.
    for page in reversed(pages):
        for line in reversed(page.lines):
            for rate, base, amount in _rows_in(line, decimal_hint):
                if base is not None:
                    full.setdefault(rate, (base, amount))
    return full


def tax_from_rate_rows(
    pages: list[Page], *, decimal_hint: str | None, net: Decimal
) -> Decimal | None:
    """The invoice's total tax as the sum of a VAT summary's rows, or None.

    Guarantees: returned only when every row read agrees with its own rate (tax = base ×
    rate) and the rows' bases add up to ``net`` to the cent per row, so no rate is missing
    and none counted twice: two checks that do not depend on a total row, which a summary
    on a coloured band may have lost to OCR.
    """
    full = _full_rows(pages, decimal_hint)
    if not full:
        return None
    tolerance = CENT * len(full)
    if abs(sum(b for b, _t in full.values()) - net) > tolerance:
        return None
    return sum((t for _b, t in full.values()), Decimal(0))


def extract_tax_breakdown(
    pages: list[Page], *, decimal_hint: str | None, net: Decimal | None, tax: Decimal | None
) -> list[TaxBreakdown]:
    """The rows of the VAT summary, one per rate, or [] when they cannot be read so that they
    add up to ``tax`` (and to ``net`` where it is known). Rows printed negative on a credit
    note come back positive when ``tax`` is positive, like the header amounts."""
    if tax is None:
        return []
    # Rates printed without "%" only when rates with it gave nothing that adds up: a bare
    # number is more often something else (a quantity, a position).
    for bare_rates in (False, True):
        rows = _breakdown(pages, decimal_hint, net, tax, bare_rates=bare_rates)
        if rows:
            return rows
    return []


def _breakdown(
    pages: list[Page],
    decimal_hint: str | None,
    net: Decimal | None,
    tax: Decimal,
    *,
    bare_rates: bool,
) -> list[TaxBreakdown]:
    full: dict[Decimal, tuple[Decimal, Decimal]] = {}
    tax_only: dict[Decimal, Decimal] = {}
    # The summary sits below the lines: read bottom-up so a line item's "20 %" column does not
    # shadow the summary row of the same rate.
    for page in reversed(pages):
        for line in reversed(page.lines):
            for rate, base, amount in _rows_in(line, decimal_hint, bare_rates=bare_rates):
                if base is not None:
                    full.setdefault(rate, (base, amount))
                else:
                    tax_only.setdefault(rate, amount)

    printed = list(tax_only.values()) + [t for _b, t in full.values()]
    if printed and tax > 0 and all(t < 0 for t in printed):
        # A credit note that prints its VAT rows with minus signs; its header amounts come
        # as positive values with the document type carrying the sign (layout.py).
        full = {r: (-b, -t) for r, (b, t) in full.items()}
        tax_only = {r: -t for r, t in tax_only.items()}
    tolerance = CENT * max(len(full), 1)
    if full:
        rows = [TaxBreakdown(rate=r, base=b, amount=t) for r, (b, t) in sorted(full.items())]
        adds_up = abs(sum(row.amount for row in rows) - tax) <= tolerance and (
            net is None or abs(sum(row.base for row in rows) - net) <= tolerance
        )
        if adds_up:
            return rows
    # One rate and the net: "MwSt. 20 % 1.100,44" under "Summe netto 5.502,18".
    if net is not None:
        single = [r for r, t in tax_only.items() if abs(t - tax) <= CENT and _agrees(net, tax, r)]
        if single:
            return [TaxBreakdown(rate=single[0], base=net, amount=tax)]
    if tax == 0 and net is not None and Decimal(0) in tax_only:
        return [TaxBreakdown(rate=Decimal(0), base=net, amount=Decimal(0))]
    return []
