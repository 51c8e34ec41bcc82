"""Out-of-pattern amounts against the vendor's own history (median and MAD), first invoices,
unusual currencies and suspiciously round totals."""

from __future__ import annotations

from decimal import Decimal
from statistics import median

from django.utils.translation import gettext as _

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.models import Invoice
from apinvoices.money import format_amount

# Need this many earlier invoices before judging an amount against the history.
MIN_HISTORY = 5
# Only the most recent invoices count: a vendor's prices drift, and one query stays small.
HISTORY_WINDOW = 200
# Robust z-score (|x - median| / (1.4826 · MAD)) above which an amount is out of pattern.
ROBUST_Z_LIMIT = Decimal("3.5")
# A total that is a multiple of this and at least this much looks estimated, not billed.
ROUND_AMOUNT = Decimal("1000")
EXCLUDED_STATES = (Invoice.State.VOID, Invoice.State.DUPLICATE)


@register
class AmountPatternCheck(Check):
    kinds = (Kind.AMOUNT_PATTERN, Kind.CURRENCY)

    def run(self, invoice: Invoice):
        if invoice.vendor_id is None or invoice.total_amount is None or not invoice.currency:
            return
        history = list(
            Invoice.objects.filter(vendor_id=invoice.vendor_id, total_amount__isnull=False)
            .exclude(pk=invoice.pk)
            .exclude(state__in=EXCLUDED_STATES)
            .order_by("-issue_date", "-pk")
            .values_list("currency", "total_amount")[:HISTORY_WINDOW]
        )
        total, currency = invoice.total_amount, invoice.currency
        shown = f"{format_amount(total, currency)} {currency}"
        if not history:
            yield Finding(
                kind=Kind.AMOUNT_PATTERN, key="first_invoice", severity=Severity.WARNING,
                message=_("This is the first invoice from this vendor. Check the vendor and bank details carefully."),
                params={},
            )
        else:
            currencies = {c for c, _amount in history}
            if currency not in currencies:
                yield Finding(
                    kind=Kind.CURRENCY, key=currency, severity=Severity.WARNING,
                    message=_("This vendor has billed in %(usual)s before, never in %(currency)s.")
                    % {"usual": ", ".join(sorted(currencies)), "currency": currency},
                    params={"currency": currency, "usual": sorted(currencies)},
                )
            amounts = [a for c, a in history if c == currency]
            if len(amounts) >= MIN_HISTORY:
                mid = Decimal(median(amounts))
                mad = Decimal(median([abs(a - mid) for a in amounts]))
                # With no spread at all (a fixed fee), any difference beyond 10 % stands out.
                spread = mad * Decimal("1.4826") if mad else max(mid * Decimal("0.1") / ROBUST_Z_LIMIT, Decimal("0.01"))
                z = abs(total - mid) / spread
                if z > ROBUST_Z_LIMIT:
                    yield Finding(
                        kind=Kind.AMOUNT_PATTERN, key="outlier", severity=Severity.WARNING,
                        message=_(
                            "%(amount)s is far from this vendor's usual %(median)s (median of %(n)d "
                            "invoices; %(z)s× the usual spread). Check quantities and prices."
                        )
                        % {
                            "amount": shown,
                            "median": f"{format_amount(mid, currency)} {currency}",
                            "n": len(amounts),
                            "z": z.quantize(Decimal("0.1")),
                        },
                        params={"median": str(mid), "mad": str(mad), "n": len(amounts), "z": str(z.quantize(Decimal("0.01")))},
                    )
        if total >= ROUND_AMOUNT and total % ROUND_AMOUNT == 0:
            yield Finding(
                kind=Kind.AMOUNT_PATTERN, key="round", severity=Severity.WARNING,
                message=_("The total %(amount)s is a round number. Invoices for goods or hours rarely are.")
                % {"amount": shown},
                params={"total": str(total)},
            )
