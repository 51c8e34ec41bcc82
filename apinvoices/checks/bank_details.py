"""Bank details: pay only to accounts a second person verified; IBAN and tax ID checksums.

Bank-detail changes are the most common invoice fraud (vendor impersonation), so an IBAN that
is not among the vendor's verified accounts blocks the invoice until someone other than the
person who entered it verifies it (see ``services.vendors.bank_account_verify``).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.extraction.identifiers import is_valid_iban, is_valid_tax_id
from apinvoices.models import Invoice, VendorBankAccount


@register
class BankDetailsCheck(Check):
    kinds = (Kind.BANK_DETAILS, Kind.INVALID_ID)

    def run(self, invoice: Invoice):
        iban = invoice.vendor_iban
        if iban and not is_valid_iban(iban):
            yield Finding(
                kind=Kind.INVALID_ID, key="iban", severity=Severity.BLOCKING,
                message=_("The IBAN %(iban)s fails its checksum: a digit is misread or the IBAN is wrong. Compare it with the original.")
                % {"iban": iban},
                params={"iban": iban},
            )
            check_account = False
        else:
            check_account = bool(iban)
        if invoice.vendor_tax_id and not is_valid_tax_id(invoice.vendor_tax_id):
            yield Finding(
                kind=Kind.INVALID_ID, key="tax_id", severity=Severity.BLOCKING,
                message=_("The tax ID %(tax_id)s is not valid (wrong format or check digit). Compare it with the original.")
                % {"tax_id": invoice.vendor_tax_id},
                params={"tax_id": invoice.vendor_tax_id},
            )
        if not check_account or invoice.vendor_id is None:
            return
        accounts = {a.iban: a for a in VendorBankAccount.objects.filter(vendor_id=invoice.vendor_id).exclude(iban="")}
        account = accounts.get(iban)
        if account is not None and account.status == VendorBankAccount.Status.VERIFIED:
            return
        verified = sorted(a for a, acc in accounts.items() if acc.status == VendorBankAccount.Status.VERIFIED)
        if account is not None and account.status == VendorBankAccount.Status.REJECTED:
            message = _("The IBAN %(iban)s was rejected for this vendor before. Do not pay to it; contact the vendor on a number on file.")
        elif verified:
            message = _(
                "The IBAN %(iban)s differs from the vendor's verified account(s) %(known)s. "
                "Call the vendor back on a number on file; a second person must verify the new account before payment."
            )
        else:
            message = _(
                "The IBAN %(iban)s is not verified for this vendor yet. Call the vendor back on a "
                "number on file; a second person must verify it before payment."
            )
        yield Finding(
            kind=Kind.BANK_DETAILS, key=iban, severity=Severity.BLOCKING,
            message=message % {"iban": iban, "known": ", ".join(verified)},
            params={"iban": iban, "account_id": account.pk if account else None, "verified": verified},
        )
