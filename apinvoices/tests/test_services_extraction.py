"""The extraction service end to end on real documents: fields land, the invoice moves on,
failures keep the original and can be retried."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from apinvoices.models import (
    Document,
    ExtractedField,
    Extraction,
    FieldSource,
    Invoice,
    InvoiceException,
    VendorBankAccount,
)
from apinvoices.services.extraction import invoice_extract
from apinvoices.tests.factories import InvoiceFactory, VendorFactory
from approvals.models import ApprovalStep

pytestmark = pytest.mark.django_db
UBL = "en16931-examples/ubl/examples/ubl-tc434-example1.xml"


def _invoice_for(data: bytes, name: str, kind=Document.Kind.XML) -> Invoice:
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=kind,
        content_type="application/xml" if kind == Document.Kind.XML else "application/pdf",
        original_filename=name, channel="upload", file=ContentFile(data, name=name),
    )
    return Invoice.objects.create(document=document)


def test_einvoice_of_known_vendor_with_verified_iban_goes_straight_to_approval(cast, corpus_dir):
    vendor = VendorFactory(name="De Koksmaat", tax_id="NL820098395B01")
    VendorBankAccount.objects.create(
        vendor=vendor, iban="NL57RABO0107307510", status=VendorBankAccount.Status.VERIFIED,
        verified_by=cast.second_clerk, verification_method="call-back",
    )
    invoice = _invoice_for((corpus_dir / UBL).read_bytes(), "ubl.xml")

    result = invoice_extract(invoice_id=invoice.pk)

    assert result.state == Invoice.State.AWAITING_APPROVAL
    invoice.refresh_from_db()
    assert (invoice.vendor, invoice.invoice_number, invoice.total_amount) == (vendor, "12115118", Decimal("250.330"))
    assert invoice.lines.count() >= 4
    assert ExtractedField.objects.get(invoice=invoice, name="total_amount").source == FieldSource.XML
    assert ApprovalStep.objects.filter(invoice=invoice, state=ApprovalStep.State.PENDING).count() == 2
    assert Extraction.objects.get(document=invoice.document).kind == "ubl"


def test_unknown_vendor_waits_in_the_exception_queue(corpus_dir):
    invoice = _invoice_for((corpus_dir / UBL).read_bytes(), "ubl.xml")
    assert invoice_extract(invoice_id=invoice.pk).state == Invoice.State.EXCEPTION
    assert InvoiceException.objects.filter(invoice=invoice, kind="unknown_vendor", status="open").exists()


def test_corrupt_pdf_fails_with_reason_keeps_original_and_can_be_retried():
    data = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer garbage"
    invoice = _invoice_for(data, "broken.pdf", kind=Document.Kind.PDF)

    result = invoice_extract(invoice_id=invoice.pk)

    assert result.state == Invoice.State.EXTRACTION_FAILED
    assert result.state_reason
    failed = Extraction.objects.get(document=invoice.document)
    assert failed.status == Extraction.Status.FAILED and failed.error_code
    with invoice.document.file.open("rb") as fh:
        assert fh.read() == data
    # The clerk's retry goes through the same service and the state machine allows it.
    assert invoice_extract(invoice_id=invoice.pk).state == Invoice.State.EXTRACTION_FAILED
    assert Extraction.objects.filter(document=invoice.document).count() == 2


def test_reextraction_keeps_what_a_clerk_typed(cast, corpus_dir):
    invoice = _invoice_for((corpus_dir / UBL).read_bytes(), "ubl.xml")
    invoice_extract(invoice_id=invoice.pk)
    invoice.refresh_from_db()
    ExtractedField.objects.filter(invoice=invoice, name="invoice_number").update(
        value="12115118-A", source=FieldSource.CLERK, updated_by=cast.clerk
    )
    Invoice.objects.filter(pk=invoice.pk).update(invoice_number="12115118-A")

    invoice_extract(invoice_id=invoice.pk)

    invoice.refresh_from_db()
    assert invoice.invoice_number == "12115118-A"


def test_factory_invoice_is_not_touched_by_a_failed_read():
    invoice = InvoiceFactory(state=Invoice.State.RECEIVED)
    invoice_extract(invoice_id=invoice.pk)  # the factory's tiny PDF has no pages
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.EXTRACTION_FAILED
    assert invoice.total_amount == Decimal("119.000")
