"""Fields an invoice cannot be approved without."""

from __future__ import annotations

from django.utils.translation import gettext as _

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.models import Invoice

REQUIRED = {
    "vendor_name": _("vendor name"),
    "invoice_number": _("invoice number"),
    "issue_date": _("invoice date"),
    "currency": _("currency"),
    "total_amount": _("total"),
}


@register
class RequiredFieldsCheck(Check):
    kinds = (Kind.MISSING_FIELD, Kind.UNKNOWN_VENDOR)

    def run(self, invoice: Invoice):
        if invoice.vendor_id is None:
            yield Finding(
                kind=Kind.UNKNOWN_VENDOR,
                key="vendor",
                severity=Severity.BLOCKING,
                message=_(
                    "The vendor “%(name)s” (tax ID %(tax_id)s) is not in the vendor master. "
                    "Pick the right vendor, or create it if it is new."
                )
                % {"name": invoice.vendor_name or "?", "tax_id": invoice.vendor_tax_id or "—"},
                params={"name": invoice.vendor_name, "tax_id": invoice.vendor_tax_id},
            )
        for name, label in REQUIRED.items():
            if getattr(invoice, name) in (None, ""):
                yield Finding(
                    kind=Kind.MISSING_FIELD,
                    key=name,
                    severity=Severity.BLOCKING,
                    message=_("The %(field)s is missing. Read it from the original and enter it.")
                    % {"field": label},
                    params={"field": name},
                )
