"""Review-screen use cases: a clerk edits a field, resolves or dismisses an exception.

Every function runs in one transaction, writes an ``InvoiceEvent`` and auditlog history
attributed to the actor, then re-evaluates the invoice so its exceptions and state are current.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from apinvoices.audit import audit_actor
from apinvoices.exceptions import ApplicationError
from apinvoices.extraction.fields import parse_amount, parse_date
from apinvoices.extraction.identifiers import (
    is_valid_iban,
    normalize_bic,
    normalize_iban,
    normalize_tax_id,
)
from apinvoices.models import (
    ExtractedField,
    FieldSource,
    Invoice,
    InvoiceEvent,
    InvoiceException,
)
from apinvoices.money import is_known_currency, quantize_amount
from apinvoices.services.invoices import (
    AMOUNT_FIELDS,
    DATE_FIELDS,
    invoice_evaluate,
    normalize_invoice_number,
)
from apinvoices.states import invoice_transition

S = Invoice.State
# Fields a clerk may edit here: the extraction's fields plus the BIC.
REVIEW_FIELDS = (*Invoice.EDITABLE_FIELDS, "vendor_bic")
# An edit in these states changes what an approver saw: approval starts again.
REROUTE_STATES = (S.AWAITING_APPROVAL, S.APPROVED)
EDIT_STATES = (*Invoice.CLERK_WORK_STATES, *REROUTE_STATES)


def coerce_field_value(*, name: str, raw: str, currency: str):
    """Parse what a clerk typed into the field's type, or raise ``ApplicationError``.

    Amounts become Decimals quantized to ``currency``'s minor unit (``1.234,5`` and ``1234.50``
    both work); dates accept ISO and the usual written forms; IBANs must pass the checksum;
    tax IDs and BICs are normalised. Blank clears the field (None for amounts and dates).
    """
    raw = (raw or "").strip()
    if not raw:
        return None if name in AMOUNT_FIELDS | DATE_FIELDS else ""
    if name in AMOUNT_FIELDS:
        if not currency:
            raise ApplicationError("Set the currency before the amounts.")
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            amount = parse_amount(raw)
        if amount is None or not amount.is_finite():
            raise ApplicationError(f"“{raw}” is not an amount.")
        return quantize_amount(amount, currency)
    if name in DATE_FIELDS:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            parsed = parse_date(raw)
        if parsed is None:
            raise ApplicationError(f"“{raw}” is not a date (use YYYY-MM-DD).")
        return parsed
    if name == "currency":
        code = raw.upper()
        if not is_known_currency(code):
            raise ApplicationError(f"“{raw}” is not an ISO 4217 currency code.")
        return code
    if name == "vendor_iban":
        if not is_valid_iban(raw):
            raise ApplicationError(f"“{raw}” is not a valid IBAN (the check digits do not match).")
        return normalize_iban(raw)
    if name == "vendor_bic":
        bic = normalize_bic(raw)
        if not bic:
            raise ApplicationError(f"“{raw}” is not a BIC.")
        return bic
    if name == "vendor_tax_id":
        return normalize_tax_id(raw) or raw.upper().replace(" ", "")
    return raw[: Invoice._meta.get_field(name).max_length or 200]


def _as_text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def invoice_update_field(
    *,
    invoice: Invoice,
    name: str,
    value: str,
    actor,
    page: int | None = None,
    bbox: list[float] | None = None,
) -> Invoice:
    """Set one field to what a clerk typed, as the clerk's own value.

    Validates and coerces by type (see ``coerce_field_value``); writes ``ExtractedField``
    (source clerk, confidence 1, ``updated_by``), sets ``touched_by_human``, records an
    ``InvoiceEvent`` field_edit with old and new value, teaches vendor memory, then
    re-evaluates. An invoice awaiting approval or approved goes through approval again
    (``settings.AP_APPROVAL_REROUTE``). Raises ``ApplicationError`` and changes nothing when
    the value is invalid or the invoice is not editable in its state.
    """
    from apinvoices.services.memory import vendor_memory_learn

    if name not in REVIEW_FIELDS:
        raise ApplicationError(f"“{name}” cannot be edited.")
    with transaction.atomic(), audit_actor(actor):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.state not in EDIT_STATES:
            raise ApplicationError(
                f"An invoice in state “{invoice.get_state_display()}” cannot be edited."
            )
        currency = invoice.currency
        new = coerce_field_value(name=name, raw=value, currency=currency)
        old = getattr(invoice, name)
        if name in AMOUNT_FIELDS and old is not None and currency:
            old = quantize_amount(old, currency)  # the stored scale is wider than the currency's
        if name == "currency" and new == "" and any(getattr(invoice, f) is not None for f in AMOUNT_FIELDS):
            raise ApplicationError("Amounts need a currency; clear the amounts first.")
        if name == "currency" and new and new != old:
            # Amounts keep their value but take the new currency's minor unit.
            for amount_field in AMOUNT_FIELDS:
                amount = getattr(invoice, amount_field)
                if amount is not None:
                    setattr(invoice, amount_field, quantize_amount(amount, new))
        if new == old and invoice.fields.filter(name=name, source=FieldSource.CLERK).exists():
            return invoice
        setattr(invoice, name, new)
        if name == "invoice_number":
            invoice.invoice_number_normalized = normalize_invoice_number(new)
        invoice.touched_by_human = True
        invoice.save()
        ExtractedField.objects.update_or_create(
            invoice=invoice,
            name=name,
            defaults={
                "value": _as_text(new),
                "confidence": Decimal("1.000"),
                "source": FieldSource.CLERK,
                "updated_by": actor,
                "updated_at": timezone.now(),
                **({"page": page, "bbox": bbox} if page and bbox else {}),
            },
        )
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.FIELD_EDIT,
            actor=actor,
            message=f"{name}: {_as_text(old) or '—'} → {_as_text(new) or '—'}",
            params={"field": name, "old": _as_text(old), "new": _as_text(new)},
        )
        if new not in (None, "") and invoice.vendor_id:
            vendor_memory_learn(invoice=invoice, name=name, value=new, actor=actor, page=page, bbox=bbox)
        if name == "vendor_iban" and new:
            from apinvoices.services.vendors import bank_account_propose_from_invoice

            bank_account_propose_from_invoice(invoice=invoice)
        if invoice.state in REROUTE_STATES:
            reroute = import_string(settings.AP_APPROVAL_REROUTE)
            return reroute(invoice, actor, reason=f"{name} edited after approval started.")
    return invoice_evaluate(invoice=invoice, actor=actor, source="review")


def _close(*, exception: InvoiceException, actor, status: str, note: str) -> Invoice:
    with transaction.atomic(), audit_actor(actor):
        exception = InvoiceException.objects.select_for_update().select_related("invoice").get(pk=exception.pk)
        if exception.status != InvoiceException.Status.OPEN:
            raise ApplicationError("This exception is closed already.")
        exception.status = status
        exception.resolved_by = actor
        exception.resolved_at = timezone.now()
        exception.resolution_note = note[:2000]
        exception.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
        verb = "resolved" if status == InvoiceException.Status.RESOLVED else "dismissed"
        InvoiceEvent.objects.create(
            invoice=exception.invoice,
            kind=InvoiceEvent.Kind.EXCEPTION,
            actor=actor,
            message=f"{exception.get_kind_display()} {verb}" + (f": {note}" if note else "."),
            params={"exception_id": exception.pk, "kind": exception.kind, "status": status},
        )
    return invoice_evaluate(invoice=exception.invoice, actor=actor, source="review")


def invoice_exception_resolve(*, exception: InvoiceException, actor, note: str = "") -> Invoice:
    """Mark an open exception resolved (the clerk fixed its cause) and re-evaluate the invoice.

    A check that still finds the problem opens it again; resolving the last blocking exception
    moves the invoice on. Raises ``ApplicationError`` for a closed exception.
    """
    return _close(exception=exception, actor=actor, status=InvoiceException.Status.RESOLVED, note=note.strip())


def invoice_exception_dismiss(*, exception: InvoiceException, actor, reason: str) -> Invoice:
    """Dismiss an open exception as not a problem. ``reason`` is required and kept; the checks
    never reopen a dismissed finding. Raises ``ApplicationError`` without a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why this exception is not a problem.")
    return _close(exception=exception, actor=actor, status=InvoiceException.Status.DISMISSED, note=reason)


def invoice_mark_duplicate(*, invoice: Invoice, actor, of: Invoice | None = None) -> Invoice:
    """Confirm a duplicate finding: the invoice moves to ``duplicate`` and its open duplicate
    exceptions are resolved. Raises ``InvalidTransition`` when the state does not allow it."""
    with transaction.atomic(), audit_actor(actor):
        now = timezone.now()
        InvoiceException.objects.filter(
            invoice=invoice, kind=InvoiceException.Kind.DUPLICATE, status=InvoiceException.Status.OPEN
        ).update(status=InvoiceException.Status.RESOLVED, resolved_by=actor, resolved_at=now,
                 resolution_note="Confirmed duplicate.")
        return invoice_transition(
            invoice=invoice, to=S.DUPLICATE, actor=actor,
            reason=f"Duplicate of {of}." if of else "Marked as duplicate by a clerk.",
            params={"duplicate_of": of.pk} if of else {},
        )


def invoice_send_to_approval(*, invoice: Invoice, actor) -> Invoice:
    """A clerk sends a reviewed invoice to approval. Refused while blocking exceptions are open."""
    from apinvoices.services.invoices import invoice_submit_for_approval

    invoice.refresh_from_db()
    if invoice.state not in (S.NEEDS_REVIEW, S.EXCEPTION):
        raise ApplicationError(f"An invoice in state “{invoice.get_state_display()}” cannot be sent to approval.")
    blocking = invoice.exceptions.filter(
        status=InvoiceException.Status.OPEN, severity=InvoiceException.Severity.BLOCKING
    ).count()
    if blocking:
        raise ApplicationError(f"Resolve the {blocking} blocking exception(s) first.")
    return invoice_submit_for_approval(invoice=invoice, actor=actor, source="review")
