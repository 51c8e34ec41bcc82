"""Filling a field by clicking a word on the page image, and vendor memory learning from it:
real PDFs (reportlab), real pdfplumber word boxes, real SQLite."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from apinvoices.exceptions import ApplicationError
from apinvoices.models import (
    Document,
    ExtractedField,
    Extraction,
    FieldSource,
    Invoice,
    InvoiceEvent,
    VendorFieldHint,
)
from apinvoices.services.extraction import invoice_extract
from apinvoices.services.memory import invoice_apply_vendor_memory
from apinvoices.services.review import invoice_field_pick_word
from apinvoices.services.words import document_page_words
from apinvoices.tests.factories import VendorFactory
from apinvoices.tests.review.pdfs import odd_layout_pdf

pytestmark = pytest.mark.django_db
S = Invoice.State


def _odd_invoice(number: str, order: str, day: str = "12.03.2024") -> Invoice:
    data = odd_layout_pdf(number=number, order=order, day=day)
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.PDF,
        content_type="application/pdf", original_filename=f"{number}.pdf", channel="upload",
        file=ContentFile(data, name=f"{number}.pdf"),
    )
    return Invoice.objects.create(document=document)


def _centre_of(invoice: Invoice, text: str) -> tuple[float, float]:
    words = document_page_words(document=invoice.document, page=1)
    word = next(w for w in words if w[0] == text)
    return (word[1] + word[3]) / 2, (word[2] + word[4]) / 2


def test_word_boxes_are_read_once_and_kept_on_the_extraction(cast):
    VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976")
    invoice = invoice_extract(invoice_id=_odd_invoice("QS-2024-0815", "4711").pk)

    words = document_page_words(document=invoice.document, page=1)

    assert [w[0] for w in words[:3]] == ["Quirky", "Supplies", "GmbH"]
    text, x0, top, x1, bottom = next(w for w in words if w[0] == "QS-2024-0815")
    assert 0 < x0 < x1 < 595 and 0 < top < bottom < 842  # PDF points, from the top left
    extraction = Extraction.objects.get(document=invoice.document)
    assert extraction.words["1"] == words
    with pytest.raises(ApplicationError, match="No such page"):
        document_page_words(document=invoice.document, page=2)


def test_a_click_fills_the_field_and_the_vendors_next_invoice_is_read_without_a_touch(cast):
    vendor = VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976")
    first = invoice_extract(invoice_id=_odd_invoice("QS-2024-0815", "4711").pk)
    assert first.vendor == vendor and first.invoice_number == ""  # the generic reader misses it
    x, y = _centre_of(first, "QS-2024-0815")

    first = invoice_field_pick_word(invoice=first, name="invoice_number", page=1, x=x, y=y, actor=cast.clerk)

    assert first.invoice_number == "QS-2024-0815" and first.touched_by_human
    field = ExtractedField.objects.get(invoice=first, name="invoice_number")
    assert (field.source, field.page, field.label, field.updated_by) == (FieldSource.CLERK, 1, "Ref. doc.", cast.clerk)
    assert field.bbox[0] < x < field.bbox[2]
    event = InvoiceEvent.objects.get(invoice=first, kind="field_edit")
    assert event.actor == cast.clerk and event.params["new"] == "QS-2024-0815"
    hint = VendorFieldHint.objects.get(vendor=vendor, field_name="invoice_number")
    assert (hint.label, hint.page, hint.created_by) == ("Ref. doc.", 1, cast.clerk)
    assert hint.bbox == field.bbox

    second = invoice_extract(invoice_id=_odd_invoice("QS-2024-0916", "5120").pk)

    assert second.invoice_number == "QS-2024-0916" and not second.touched_by_human
    memory = ExtractedField.objects.get(invoice=second, name="invoice_number")
    assert (memory.source, memory.confidence) == (FieldSource.MEMORY, Decimal("0.950"))


def test_a_date_click_takes_the_words_it_needs_and_a_wrong_word_is_refused(cast):
    VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976")
    invoice = invoice_extract(invoice_id=_odd_invoice("QS-2024-0815", "4711", day="12 März 2024").pk)
    x, y = _centre_of(invoice, "12")

    invoice = invoice_field_pick_word(invoice=invoice, name="due_date", page=1, x=x, y=y, actor=cast.clerk)

    assert invoice.due_date.isoformat() == "2024-03-12"
    x, y = _centre_of(invoice, "Rechnung")
    with pytest.raises(ApplicationError, match="does not fit this field"):
        invoice_field_pick_word(invoice=invoice, name="total_amount", page=1, x=x, y=y, actor=cast.clerk)
    with pytest.raises(ApplicationError, match="no word at that spot"):
        invoice_field_pick_word(invoice=invoice, name="po_number", page=1, x=500.0, y=300.0, actor=cast.clerk)


def test_a_position_only_hint_reads_the_value_in_its_box(cast):
    """GIVEN a hint with a page box but no label (a value printed alone)
    WHEN the vendor's next invoice is extracted THEN the words in that box are read."""
    vendor = VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976")
    invoice = invoice_extract(invoice_id=_odd_invoice("QS-2024-0815", "4711").pk)
    words = document_page_words(document=invoice.document, page=1)
    order = next(w for w in words if w[0] == "4711")
    VendorFieldHint.objects.create(vendor=vendor, field_name="po_number", page=1, bbox=order[1:5])
    extraction = Extraction.objects.get(document=invoice.document)

    applied = invoice_apply_vendor_memory(invoice=invoice, extraction=extraction)

    invoice.refresh_from_db()
    assert "po_number" in applied and invoice.po_number == "4711"


@pytest.mark.ocr
def test_a_sideways_photo_offers_its_words_where_they_are_on_the_picture(cast):
    """GIVEN a scan turned 90° (as a phone stores it) WHEN its words are asked for
    THEN Tesseract reads it upright and the boxes land on the word in the picture as shown."""
    import io

    import pypdfium2

    pdf = pypdfium2.PdfDocument(odd_layout_pdf(number="QS-2024-0815"))
    upright = pdf[0].render(scale=200 / 72).to_pil().convert("L")
    pdf.close()
    sideways = upright.rotate(90, expand=True)  # counter-clockwise: the top is now on the left
    buf = io.BytesIO()
    sideways.save(buf, format="PNG")
    data = buf.getvalue()
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.IMAGE,
        content_type="image/png", original_filename="sideways.png", channel="upload",
        file=ContentFile(data, name="sideways.png"),
    )

    words = document_page_words(document=document, page=1)

    text, x0, top, x1, bottom = next(w for w in words if w[0] == "QS-2024-0815")
    # In the upright page the number sits near the top left; turned counter-clockwise, that is
    # the bottom left of the picture, and the word runs upwards (taller than wide).
    assert bottom - top > x1 - x0
    assert x0 < sideways.width * 0.35 and top > sideways.height * 0.55
    crop = sideways.crop((int(x0), int(top), int(x1), int(bottom)))
    assert crop.getextrema()[0] < 100  # ink under the box, not blank paper


@pytest.mark.ocr
def test_the_worker_reads_a_scans_word_boxes_ahead_of_the_clerk(settings):
    """GIVEN a scanned invoice extracted by the task WHEN the worker is done THEN its page's
    word boxes are already kept, so the review screen does not run Tesseract in a request."""
    import io

    import pypdfium2

    from apinvoices.tasks import extract_invoice

    settings.AP_PREFETCH_WORD_PAGES = 1
    pdf = pypdfium2.PdfDocument(odd_layout_pdf(number="QS-2024-0816"))
    image = pdf[0].render(scale=200 / 72).to_pil().convert("L")
    pdf.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    data = buf.getvalue()
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.IMAGE,
        content_type="image/png", original_filename="scan.png", channel="upload",
        file=ContentFile(data, name="scan.png"),
    )
    invoice = Invoice.objects.create(document=document)

    extract_invoice(invoice.pk)  # the queue runs inline in tests, so the read-ahead runs too

    kept = Extraction.objects.get(document=document, status="succeeded").words
    assert any(word[0] == "QS-2024-0816" for word in kept["1"])
