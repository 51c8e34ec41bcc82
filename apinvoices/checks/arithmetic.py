"""Lines sum to net, net + tax = total, tax per rate = base × rate; within rounding tolerance."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.models import Invoice
from apinvoices.money import format_amount, rounding_tolerance


@register
class ArithmeticCheck(Check):
    kinds = (Kind.ARITHMETIC,)

    def run(self, invoice: Invoice):
        currency = invoice.currency or "EUR"
        tolerance = rounding_tolerance(currency)

        def fmt(value: Decimal) -> str:
            return f"{format_amount(value, currency)} {currency}"

        net, tax, total = invoice.net_amount, invoice.tax_amount, invoice.total_amount
        if net is not None and tax is not None and total is not None:
            difference = net + tax - total
            if abs(difference) > tolerance:
                yield Finding(
                    kind=Kind.ARITHMETIC,
                    key="net+tax",
                    severity=Severity.BLOCKING,
                    message=_(
                        "Net %(net)s + tax %(tax)s = %(sum)s, but the total says %(total)s "
                        "(difference %(diff)s). Check the amounts against the original."
                    )
                    % {"net": fmt(net), "tax": fmt(tax), "sum": fmt(net + tax), "total": fmt(total), "diff": fmt(difference)},
                    params={"net": str(net), "tax": str(tax), "total": str(total), "difference": str(difference)},
                )

        lines = list(invoice.lines.all())
        amounts = [line.amount for line in lines if line.amount is not None]
        if net is not None and amounts and len(amounts) == len(lines):
            line_sum = sum(amounts, Decimal(0))
            # Each line may have been rounded on its own: allow one minor unit per line.
            if abs(line_sum - net) > rounding_tolerance(currency, units=max(1, len(lines))):
                yield Finding(
                    kind=Kind.ARITHMETIC,
                    key="lines",
                    severity=Severity.BLOCKING,
                    message=_(
                        "The %(count)d lines add up to %(sum)s, but the net amount is %(net)s "
                        "(difference %(diff)s). A line may be missing or misread."
                    )
                    % {"count": len(lines), "sum": fmt(line_sum), "net": fmt(net), "diff": fmt(line_sum - net)},
                    params={"line_sum": str(line_sum), "net": str(net)},
                )

        for tax_row in invoice.taxes.all():
            expected = tax_row.base_amount * tax_row.rate / Decimal(100)
            if abs(expected - tax_row.tax_amount) > tolerance:
                yield Finding(
                    kind=Kind.ARITHMETIC,
                    key=f"rate:{tax_row.rate.normalize()}",
                    severity=Severity.BLOCKING,
                    message=_(
                        "Tax at %(rate)s%% on %(base)s should be %(expected)s, the invoice says %(actual)s."
                    )
                    % {
                        "rate": tax_row.rate.normalize(),
                        "base": fmt(tax_row.base_amount),
                        "expected": fmt(expected),
                        "actual": fmt(tax_row.tax_amount),
                    },
                    params={"rate": str(tax_row.rate), "base": str(tax_row.base_amount), "tax": str(tax_row.tax_amount)},
                )
