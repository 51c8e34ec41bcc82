"""Review services against real SQLite: edits coerce and audit, exceptions close with reasons,
vendor memory carries a clerk's correction to the vendor's next invoice."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from apinvoices.exceptions import ApplicationError
from apinvoices.models import (
    Document,
    ExtractedField,
    FieldSource,
    Invoice,
    InvoiceEvent,
    InvoiceException,
    VendorBankAccount,
    VendorFieldHint,
)
from apinvoices.services.extraction import invoice_extract
from apinvoices.services.review import (
    invoice_exception_dismiss,
    invoice_exception_resolve,
    invoice_update_field,
)
from apinvoices.tests.factories import InvoiceFactory, VendorFactory
from apinvoices.tests.review.pdfs import odd_layout_pdf

pytestmark = pytest.mark.django_db
S = Invoice.State


def test_edit_coerces_the_amount_to_the_currency_and_audits_old_and_new(cast):
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW, currency="JPY", total_amount=Decimal("119"))

    invoice_update_field(invoice=invoice, name="total_amount", value="1.234,4", actor=cast.clerk)

    invoice.refresh_from_db()
    assert invoice.total_amount == Decimal("1234") and invoice.touched_by_human
    field = ExtractedField.objects.get(invoice=invoice, name="total_amount")
    assert (field.source, field.updated_by, field.confidence) == (FieldSource.CLERK, cast.clerk, Decimal("1"))
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.FIELD_EDIT)
    assert event.actor == cast.clerk
    assert event.params == {"field": "total_amount", "old": "119", "new": "1234"}


def test_edit_parses_dates_and_rejects_a_bad_iban_without_changing_anything(cast):
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW)
    invoice_update_field(invoice=invoice, name="issue_date", value="2024-02-29", actor=cast.clerk)
    invoice.refresh_from_db()
    assert invoice.issue_date == date(2024, 2, 29)

    with pytest.raises(ApplicationError, match="not a valid IBAN"):
        invoice_update_field(invoice=invoice, name="vendor_iban", value="DE89370400440532013001", actor=cast.clerk)
    with pytest.raises(ApplicationError, match="not a date"):
        invoice_update_field(invoice=invoice, name="due_date", value="soon", actor=cast.clerk)
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="field_edit").count() == 1


def test_edit_of_a_voided_invoice_is_refused(cast):
    invoice = InvoiceFactory(state=S.VOID)
    with pytest.raises(ApplicationError, match="cannot be edited"):
        invoice_update_field(invoice=invoice, name="invoice_number", value="X-1", actor=cast.clerk)


def test_dismiss_needs_a_reason_and_keeps_it(cast):
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW)
    exc = InvoiceException.objects.create(invoice=invoice, kind="dates", key="x", severity="warning", message="m")

    with pytest.raises(ApplicationError, match="Say why"):
        invoice_exception_dismiss(exception=exc, actor=cast.clerk, reason="  ")
    invoice_exception_dismiss(exception=exc, actor=cast.clerk, reason="Vendor always dates ahead")

    exc.refresh_from_db()
    assert (exc.status, exc.resolution_note, exc.resolved_by) == ("dismissed", "Vendor always dates ahead", cast.clerk)
    assert InvoiceEvent.objects.filter(invoice=invoice, kind="exception", actor=cast.clerk).exists()


def test_fixing_the_cause_and_resolving_the_last_blocking_exception_moves_the_invoice_on(cast):
    vendor = VendorFactory()
    VendorBankAccount.objects.create(vendor=vendor, iban="DE89370400440532013000", status="verified",
                                     verified_by=cast.second_clerk, verification_method="call-back")
    invoice = InvoiceFactory(vendor=vendor, state=S.EXCEPTION, vendor_iban="DE89370400440532013000",
                             total_amount=Decimal("150.00"))
    from apinvoices.services.invoices import invoice_evaluate

    invoice = invoice_evaluate(invoice=invoice, actor=cast.clerk)
    arithmetic = InvoiceException.objects.get(invoice=invoice, kind="arithmetic", status="open")
    assert invoice.state == S.EXCEPTION and arithmetic.severity == "blocking"

    # Resolving without fixing: the check finds the problem again.
    invoice = invoice_exception_resolve(exception=arithmetic, actor=cast.clerk)
    assert invoice.state == S.EXCEPTION

    invoice = invoice_update_field(invoice=invoice, name="total_amount", value="119.00", actor=cast.clerk)
    assert invoice.state == S.NEEDS_REVIEW
    assert not InvoiceException.objects.filter(invoice=invoice, severity="blocking", status="open").exists()


def test_edit_while_awaiting_approval_routes_the_invoice_again(cast):
    from approvals.models import ApprovalStep
    from apinvoices.services.invoices import invoice_submit_for_approval

    vendor = VendorFactory()
    invoice = InvoiceFactory(vendor=vendor, state=S.NEEDS_REVIEW)
    invoice = invoice_submit_for_approval(invoice=invoice, actor=cast.clerk, source="test")
    assert invoice.state == S.AWAITING_APPROVAL
    first_round = set(ApprovalStep.objects.filter(invoice=invoice).values_list("pk", flat=True))

    invoice = invoice_update_field(invoice=invoice, name="po_number", value="PO-9", actor=cast.clerk)

    assert invoice.state == S.AWAITING_APPROVAL
    steps = ApprovalStep.objects.filter(invoice=invoice)
    assert set(steps.filter(pk__in=first_round).values_list("state", flat=True)) == {"superseded"}
    assert steps.exclude(pk__in=first_round).exists()


def _odd_invoice(number: str, order: str) -> Invoice:
    data = odd_layout_pdf(number=number, order=order)
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.PDF,
        content_type="application/pdf", original_filename=f"{number}.pdf", channel="upload",
        file=ContentFile(data, name=f"{number}.pdf"),
    )
    return Invoice.objects.create(document=document)


def test_vendor_memory_reads_the_second_invoice_of_an_odd_layout_right(cast):
    vendor = VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976")
    first = invoice_extract(invoice_id=_odd_invoice("QS-2024-0815", "4711").pk)
    assert first.vendor == vendor and first.invoice_number == ""  # the generic reader misses it

    invoice_update_field(invoice=first, name="invoice_number", value="QS-2024-0815", actor=cast.clerk)
    hint = VendorFieldHint.objects.get(vendor=vendor, field_name="invoice_number")
    assert (hint.label, hint.learned_from_id, hint.created_by) == ("Ref. doc.", first.pk, cast.clerk)

    second = invoice_extract(invoice_id=_odd_invoice("QS-2024-0916", "5120").pk)

    assert second.invoice_number == "QS-2024-0916"
    field = ExtractedField.objects.get(invoice=second, name="invoice_number")
    assert (field.source, field.confidence) == (FieldSource.MEMORY, Decimal("0.950"))
    assert not second.touched_by_human
    hint.refresh_from_db()
    assert hint.times_used == 1
