"""Vendor matching: which vendor master row an extracted invoice belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from apinvoices.models import Vendor, VendorBankAccount

# A fuzzy name match must be at least this similar (0..100, token-set ratio on normalised
# names) to be taken; below it the vendor is proposed to the clerk instead.
NAME_MATCH_THRESHOLD = 90
_LEGAL_FORMS = {
    "gmbh", "ag", "kg", "ug", "sarl", "sas", "sa", "bv", "nv", "sl", "srl", "spa", "ltd", "limited",
    "llc", "inc", "corp", "co", "plc", "gbr", "ohg", "eg", "ev",
}


@dataclass(frozen=True)
class VendorMatch:
    vendor: Vendor | None
    method: str  # tax_id | iban | name | none
    score: float  # 0..1
    proposal: str = ""  # the name to propose for a new vendor when nothing matched


def _normalise_name(name: str) -> str:
    words = utils.default_process(name).split()
    return " ".join(w for w in words if w not in _LEGAL_FORMS)


def vendor_match(*, tax_id: str = "", iban: str = "", name: str = "") -> VendorMatch:
    """Find the vendor by tax ID, then by IBAN, then by fuzzy name. Never creates a vendor."""
    if tax_id:
        vendor = Vendor.objects.filter(tax_id=tax_id, is_active=True).first()
        if vendor:
            return VendorMatch(vendor, "tax_id", 1.0)
    if iban:
        vendor_ids = set(
            VendorBankAccount.objects.filter(iban=iban, vendor__is_active=True).values_list(
                "vendor_id", flat=True
            )
        )
        # The same IBAN on two vendors is itself suspicious; do not guess between them.
        if len(vendor_ids) == 1:
            return VendorMatch(Vendor.objects.get(pk=vendor_ids.pop()), "iban", 0.97)
    if name:
        candidates = dict(Vendor.objects.filter(is_active=True).values_list("pk", "name"))
        if candidates:
            normalised = {pk: _normalise_name(n) for pk, n in candidates.items()}
            best = process.extractOne(
                _normalise_name(name), normalised, scorer=fuzz.token_set_ratio
            )
            if best and best[1] >= NAME_MATCH_THRESHOLD:
                return VendorMatch(Vendor.objects.get(pk=best[2]), "name", round(best[1] / 100, 3))
    return VendorMatch(None, "none", 0.0, proposal=name)


def bank_account_propose_from_invoice(*, invoice) -> VendorBankAccount | None:
    """Record an IBAN read from an invoice as an unverified account of its vendor (if new).

    Nothing is paid to it until a person verifies it; see ``bank_account_verify``.
    """
    if not invoice.vendor_id or not invoice.vendor_iban:
        return None
    account, _created = VendorBankAccount.objects.get_or_create(
        vendor_id=invoice.vendor_id,
        iban=invoice.vendor_iban,
        defaults={
            "bic": invoice.vendor_bic,
            "currency": invoice.currency or "EUR",
            "holder_name": invoice.vendor_name[:200],
            "source": f"invoice #{invoice.pk}",
        },
    )
    return account


def _iban_editors(account: VendorBankAccount) -> set[int]:
    from apinvoices.models import ExtractedField, FieldSource

    return set(
        ExtractedField.objects.filter(
            name="vendor_iban", value=account.iban, source=FieldSource.CLERK,
            invoice__vendor_id=account.vendor_id, updated_by__isnull=False,
        ).values_list("updated_by_id", flat=True)
    )


def bank_account_verify(*, account: VendorBankAccount, user, method: str) -> VendorBankAccount:
    """Four-eyes verification of a vendor bank account, then re-check the invoices it blocked.

    The verifier MUST differ from whoever entered the account and from whoever typed that IBAN
    into an invoice; ``method`` records how it was verified (e.g. "call-back to +49 … on file").
    Raises ``FourEyesViolation`` or ``ApplicationError`` and changes nothing otherwise.
    """
    from django.db import transaction
    from django.utils import timezone

    from apinvoices.audit import audit_actor
    from apinvoices.exceptions import ApplicationError, FourEyesViolation
    from apinvoices.models import Invoice, InvoiceEvent

    method = method.strip()
    if not method:
        raise ApplicationError("Say how you verified the account (e.g. call-back to the number on file).")
    with transaction.atomic(), audit_actor(user):
        account = VendorBankAccount.objects.select_for_update().get(pk=account.pk)
        if account.status == VendorBankAccount.Status.VERIFIED:
            raise ApplicationError("This account is verified already.")
        if user.pk == account.entered_by_id or user.pk in _iban_editors(account):
            raise FourEyesViolation(
                "You entered or changed this bank account, so someone else must verify it (four-eyes rule)."
            )
        account.status = VendorBankAccount.Status.VERIFIED
        account.verified_by = user
        account.verified_at = timezone.now()
        account.verification_method = method[:200]
        account.full_clean()
        account.save(update_fields=["status", "verified_by", "verified_at", "verification_method", "updated_at"])
        blocked = list(
            Invoice.objects.filter(
                vendor_id=account.vendor_id, vendor_iban=account.iban,
                state__in=[Invoice.State.EXCEPTION, Invoice.State.NEEDS_REVIEW],
            )
        )
        for invoice in blocked:
            InvoiceEvent.objects.create(
                invoice=invoice, kind=InvoiceEvent.Kind.NOTE, actor=user,
                message=f"Bank account {account.iban} verified: {account.verification_method}",
                params={"account_id": account.pk},
            )
    from apinvoices.services.invoices import invoice_evaluate

    for invoice in blocked:
        invoice_evaluate(invoice=invoice, source="bank-account-verified")
    return account


def bank_account_reject(*, account: VendorBankAccount, user, reason: str) -> VendorBankAccount:
    """Mark an account as not the vendor's (e.g. the call-back denied it); invoices paying to it
    stay blocked. ``reason`` is required and kept as the verification note. Raises
    ``ApplicationError`` without a reason or for a verified account."""
    from django.db import transaction

    from apinvoices.audit import audit_actor
    from apinvoices.exceptions import ApplicationError

    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the account is rejected.")
    with transaction.atomic(), audit_actor(user):
        account = VendorBankAccount.objects.select_for_update().get(pk=account.pk)
        if account.status == VendorBankAccount.Status.VERIFIED:
            raise ApplicationError("A verified account cannot be rejected here; ask an AP admin.")
        account.status = VendorBankAccount.Status.REJECTED
        account.verification_method = f"Rejected: {reason}"[:200]
        account.save(update_fields=["status", "verification_method", "updated_at"])
    return account
