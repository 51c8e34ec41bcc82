"""Duplicates: the same invoice number from the same vendor, or the same money twice.

Identical bytes never get this far: ingestion keeps one Document per content hash and records
a receipt for the repeat.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils.translation import gettext as _

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.models import Invoice, VendorBankAccount
from apinvoices.money import format_amount

# Same vendor and total within this many days of each other: probably sent twice.
NEAR_DUPLICATE_DAYS = 30
EXCLUDED_STATES = (Invoice.State.VOID, Invoice.State.DUPLICATE)


def _describe(other: Invoice) -> str:
    return _("invoice %(number)s of %(date)s (#%(pk)s, %(state)s)") % {
        "number": other.invoice_number or "—",
        "date": other.issue_date or "?",
        "pk": other.pk,
        "state": other.get_state_display(),
    }


@register
class DuplicateCheck(Check):
    kinds = (Kind.DUPLICATE,)

    def run(self, invoice: Invoice):
        others = Invoice.objects.exclude(pk=invoice.pk).exclude(state__in=EXCLUDED_STATES)
        seen: set[int] = set()

        if invoice.vendor_id and invoice.invoice_number_normalized:
            for other in others.filter(
                vendor_id=invoice.vendor_id, invoice_number_normalized=invoice.invoice_number_normalized
            ).order_by("pk")[:5]:
                seen.add(other.pk)
                yield Finding(
                    kind=Kind.DUPLICATE,
                    key=f"number:{other.pk}",
                    severity=Severity.BLOCKING,
                    message=_(
                        "Same vendor and invoice number as %(other)s. If it is the same invoice, "
                        "mark this one as duplicate; if not, dismiss with the reason."
                    )
                    % {"other": _describe(other)},
                    params={"other_id": other.pk, "number": invoice.invoice_number},
                    related_invoice_id=other.pk,
                )

        if invoice.total_amount is None or not invoice.currency:
            return
        same_money = others.filter(total_amount=invoice.total_amount, currency=invoice.currency)
        amount = f"{format_amount(invoice.total_amount, invoice.currency)} {invoice.currency}"

        if invoice.vendor_id and invoice.issue_date:
            window = timedelta(days=NEAR_DUPLICATE_DAYS)
            near = same_money.filter(
                vendor_id=invoice.vendor_id,
                issue_date__range=(invoice.issue_date - window, invoice.issue_date + window),
            ).order_by("pk")[:5]
            for other in near:
                if other.pk in seen:
                    continue
                seen.add(other.pk)
                yield Finding(
                    kind=Kind.DUPLICATE,
                    key=f"near:{other.pk}",
                    severity=Severity.WARNING,
                    message=_(
                        "The same vendor billed the same total %(amount)s within %(days)d days: "
                        "%(other)s. Check that it is not the same delivery billed twice."
                    )
                    % {"amount": amount, "days": NEAR_DUPLICATE_DAYS, "other": _describe(other)},
                    params={"other_id": other.pk, "total": str(invoice.total_amount)},
                    related_invoice_id=other.pk,
                )

        if invoice.vendor_iban:
            other_vendor_ids = VendorBankAccount.objects.filter(iban=invoice.vendor_iban).values("vendor_id")
            cross = (
                same_money.filter(Q(vendor_iban=invoice.vendor_iban) | Q(vendor_id__in=other_vendor_ids))
                .exclude(vendor_id=invoice.vendor_id)
                .order_by("pk")[:5]
            )
            for other in cross:
                if other.pk in seen:
                    continue
                yield Finding(
                    kind=Kind.DUPLICATE,
                    key=f"iban:{other.pk}",
                    severity=Severity.BLOCKING,
                    message=_(
                        "Another vendor (%(vendor)s) is paid to the same IBAN for the same total "
                        "%(amount)s: %(other)s. This is a classic fraud pattern; confirm with both "
                        "vendors before paying."
                    )
                    % {"vendor": other.vendor_name or "?", "amount": amount, "other": _describe(other)},
                    params={"other_id": other.pk, "iban": invoice.vendor_iban},
                    related_invoice_id=other.pk,
                )
