"""Use cases that write invoices: apply an extraction, evaluate (check + move on), submit."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from apinvoices.checks import invoice_run_checks
from apinvoices.exceptions import ApplicationError
from apinvoices.extraction.types import ExtractedInvoice, FieldValue
from apinvoices.models import (
    ExtractedField,
    Extraction,
    FieldSource,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceTax,
)
from apinvoices.money import quantize_amount
from apinvoices.services.vendors import bank_account_propose_from_invoice, vendor_match
from apinvoices.states import INVOICE_MACHINE, invoice_transition

S = Invoice.State

# A field at or above this confidence is taken without a human look (auto-accept).
AUTO_ACCEPT_CONFIDENCE = Decimal("0.900")
# Fields whose confidence decides whether a person must look at the invoice.
KEY_FIELDS = ("vendor_name", "invoice_number", "issue_date", "currency", "total_amount")
DATE_FIELDS = {"issue_date", "due_date"}
AMOUNT_FIELDS = {"net_amount", "tax_amount", "total_amount"}

_NUMBER_NOISE = re.compile(r"[\s\-_/.#:]")


def normalize_invoice_number(number: str) -> str:
    """Canonical form for duplicate detection: upper case, no separators, O read as 0, no
    leading zeros ("inv-000123" and "INV 123" are the same number)."""
    compact = _NUMBER_NOISE.sub("", number.upper()).replace("O", "0")
    stripped = re.sub(r"(?<![0-9])0+(?=[0-9])", "", compact)
    return stripped[:64]


def _coerce(name: str, value, currency: str):
    if value in (None, ""):
        return None
    if name in DATE_FIELDS:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if name in AMOUNT_FIELDS:
        try:
            amount = value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            return None
        return quantize_amount(amount, currency or "EUR")
    return str(value)[: Invoice._meta.get_field(name).max_length or 200]


@transaction.atomic
def invoice_apply_extraction(
    *, invoice: Invoice, result: ExtractedInvoice, extraction: Extraction
) -> Invoice:
    """Copy extracted values onto the invoice, keeping every value a clerk entered.

    Replaces lines and the tax breakdown unless a clerk edited the invoice; records each field's
    provenance in ``ExtractedField``; matches the vendor master. One transaction.
    """
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    clerk_fields = set(
        invoice.fields.filter(source=FieldSource.CLERK).values_list("name", flat=True)
    )
    fields = dict(result.fields)
    if invoice.vendor_id is None:
        invoice.vendor = vendor_match(
            tax_id=str(result.value("vendor_tax_id") or invoice.vendor_tax_id),
            iban=str(result.value("vendor_iban") or invoice.vendor_iban),
            name=str(result.value("vendor_name") or invoice.vendor_name),
        ).vendor
    if "currency" not in fields and not invoice.currency and invoice.vendor is not None:
        # Amounts need a currency; the vendor's usual one is a guess a clerk must confirm.
        fields["currency"] = FieldValue(
            value=invoice.vendor.default_currency, confidence=0.5, source="memory",
            label="vendor's default currency",
        )
    currency = str((fields["currency"].value if "currency" in fields else "") or invoice.currency or "")
    is_credit_note = result.value("document_type") == "credit_note"
    changed = []
    for name in Invoice.EDITABLE_FIELDS:
        fv = fields.get(name)
        if fv is None or name in clerk_fields:
            continue
        if name in AMOUNT_FIELDS and not currency:
            continue  # never store an amount without its currency; the clerk supplies both
        value = _coerce(name, fv.value, currency)
        if value is None:
            continue
        if name in AMOUNT_FIELDS and is_credit_note:
            value = abs(value)  # credit notes: positive amounts, the document type gives the sign
        setattr(invoice, name, value)
        changed.append(name)
        ExtractedField.objects.update_or_create(
            invoice=invoice,
            name=name,
            defaults={
                "extraction": extraction,
                "value": str(value),
                "confidence": Decimal(str(round(min(max(fv.confidence, 0.0), 1.0), 3))),
                "source": fv.source,
                "page": fv.page,
                "bbox": fv.bbox.as_list() if fv.bbox else None,
                "label": fv.label[:100],
                "updated_by": None,
                "updated_at": timezone.now(),
            },
        )
    if result.value("vendor_bic") and "vendor_bic" not in clerk_fields:
        invoice.vendor_bic = str(result.value("vendor_bic"))[:11]
    if result.value("payment_terms"):
        invoice.payment_terms = str(result.value("payment_terms"))[:200]
    if is_credit_note:
        invoice.document_type = Invoice.DocumentType.CREDIT_NOTE
    invoice.invoice_number_normalized = normalize_invoice_number(invoice.invoice_number)
    invoice.min_confidence = _min_key_confidence(invoice)
    invoice.save()
    bank_account_propose_from_invoice(invoice=invoice)

    if not invoice.touched_by_human:
        invoice.lines.all().delete()
        def positive(value):
            # Credit notes keep positive line values too; the document type carries the sign.
            return abs(value) if is_credit_note and value is not None else value

        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=i,
                description=line.description[:500],
                quantity=positive(line.quantity),
                unit_price=positive(line.unit_price),
                amount=positive(quantize_amount(line.amount, currency) if line.amount is not None and currency else line.amount),
                tax_rate=line.tax_rate,
            )
            for i, line in enumerate(result.lines, start=1)
        )
        invoice.taxes.all().delete()
        InvoiceTax.objects.bulk_create(
            InvoiceTax(
                invoice=invoice,
                rate=tax.rate,
                base_amount=tax.base,
                tax_amount=tax.amount,
                category=tax.category[:8],
            )
            for tax in result.taxes
        )
    InvoiceEvent.objects.create(
        invoice=invoice,
        kind=InvoiceEvent.Kind.EXTRACTED,
        source="extraction",
        message=f"Read {len(changed)} fields and {len(result.lines)} lines from {result.kind}.",
        params={"kind": result.kind, "fields": changed, "errors": result.errors[:10]},
    )
    return invoice


def _min_key_confidence(invoice: Invoice) -> Decimal | None:
    confidences = dict(invoice.fields.values_list("name", "confidence"))
    values = [confidences.get(name, Decimal(0)) for name in KEY_FIELDS]
    return min(values) if values else None


def invoice_needs_review(invoice: Invoice) -> bool:
    """A person must look: a key field is missing or below the auto-accept confidence, or the
    vendor is not in the vendor master."""
    if invoice.vendor_id is None:
        return True
    confidences = dict(invoice.fields.values_list("name", "confidence"))
    for name in KEY_FIELDS:
        if getattr(invoice, name) in (None, ""):
            return True
        if confidences.get(name, Decimal(0)) < AUTO_ACCEPT_CONFIDENCE:
            return True
    return False


def invoice_evaluate(*, invoice: Invoice, actor=None, source: str = "evaluate") -> Invoice:
    """Run the checks and move the invoice to where it belongs now.

    Open blocking exceptions → ``exception``; otherwise, if a person must look →
    ``needs_review``; otherwise the invoice is submitted for approval. A state that does not
    allow the move (e.g. already approved) is left alone.
    """
    outcome = invoice_run_checks(invoice=invoice, source=source)
    invoice.refresh_from_db()
    if outcome.open_blocking:
        target, reason = S.EXCEPTION, f"{outcome.open_blocking} blocking exception(s) to resolve."
    elif invoice.state in (S.NEEDS_REVIEW, S.EXCEPTION) and actor is not None:
        # A clerk is working the invoice; they send it to approval themselves.
        target, reason = S.NEEDS_REVIEW, "Ready to send to approval."
    elif invoice_needs_review(invoice):
        target, reason = S.NEEDS_REVIEW, "Some fields need a look before approval."
    else:
        try:
            return invoice_submit_for_approval(invoice=invoice, actor=actor, source=source)
        except ApplicationError as err:
            target, reason = S.NEEDS_REVIEW, f"Could not send to approval: {err.message}"
    if invoice.state != target and INVOICE_MACHINE.can(invoice.state, target):
        invoice = invoice_transition(invoice=invoice, to=target, actor=actor, source=source, reason=reason)
    return invoice


def invoice_submit_for_approval(*, invoice: Invoice, actor=None, source: str = "") -> Invoice:
    """Hand the invoice to the approval router (``settings.AP_APPROVAL_ROUTER``), which creates
    the approval steps and moves it to ``awaiting_approval`` in one transaction.

    apinvoices does not import approvals: the router is named in settings.
    """
    router = import_string(settings.AP_APPROVAL_ROUTER)
    return router(invoice=invoice, actor=actor, source=source)
