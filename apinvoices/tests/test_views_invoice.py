"""The invoice page, the void action and the original download."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apinvoices.models import (
    DocumentReceipt,
    ExtractedField,
    Invoice,
    InvoiceEvent,
    InvoiceException,
    InvoiceTax,
)
from apinvoices.states import invoice_transition
from apinvoices.tests.factories import DocumentFactory, InvoiceFactory, InvoiceLineFactory
from apinvoices.views import safe_download_name

pytestmark = pytest.mark.django_db


def _detail(invoice) -> str:
    return reverse("apinvoices:invoice_detail", args=[invoice.pk])


def _rich_invoice(cast, *, lines: int = 2, events: int = 2) -> Invoice:
    invoice = InvoiceFactory(state=Invoice.State.EXCEPTION, total_amount=Decimal("119.00"))
    for i in range(lines):
        InvoiceLineFactory(invoice=invoice, position=i + 1, description=f"Line {i + 1}")
    InvoiceTax.objects.create(invoice=invoice, rate=Decimal("19"), base_amount=Decimal("100"), tax_amount=Decimal("19"))
    ExtractedField.objects.create(invoice=invoice, name="total_amount", value="119.00", confidence=Decimal("0.95"), source="text", page=1)
    ExtractedField.objects.create(invoice=invoice, name="invoice_number", value=invoice.invoice_number, confidence=Decimal("0.55"), source="ocr")
    InvoiceException.objects.create(invoice=invoice, kind="dates", key="due", severity="warning", message="Due date before issue date")
    for i in range(events):
        InvoiceEvent.objects.create(invoice=invoice, kind="note", actor=cast.clerk if i % 2 else None,
                                    source="" if i % 2 else "task:extract", message=f"event {i}")
    DocumentReceipt.objects.create(document=invoice.document, channel="email", sender="billing@vendor.test", received_by=cast.clerk)
    return invoice


def test_detail_shows_fields_with_confidence_source_lines_taxes_exceptions_timeline(client, cast):
    invoice = _rich_invoice(cast)
    client.force_login(cast.clerk)

    body = client.get(_detail(invoice)).content.decode()

    assert invoice.invoice_number in body
    assert 'class="conf conf-high"' in body and "95%" in body  # total, from the text layer
    assert 'class="conf conf-low"' in body and "55%" in body  # number, from OCR
    assert "PDF text" in body and "OCR" in body
    assert "Line 1" in body and "Line 2" in body
    assert 'name="rate" value="19"' in body  # the tax breakdown, editable for a clerk
    assert "Due date before issue date" in body
    assert "task:extract" in body and "event 1" in body
    assert "billing@vendor.test" in body
    assert reverse("apinvoices:document_original", args=[invoice.document_id]) in body


def test_detail_of_a_missing_invoice_is_404(client, cast):
    client.force_login(cast.clerk)

    assert client.get(reverse("apinvoices:invoice_detail", args=[999999])).status_code == 404


def test_unassigned_approver_gets_403_on_detail_and_original(client, cast):
    invoice = InvoiceFactory()
    client.force_login(cast.approver)

    assert client.get(_detail(invoice)).status_code == 403
    assert client.get(reverse("apinvoices:document_original", args=[invoice.document_id])).status_code == 403


def test_assigned_approver_may_see_detail_and_original(client, cast):
    from approvals.models import ApprovalStep

    invoice = InvoiceFactory(state=Invoice.State.AWAITING_APPROVAL)
    ApprovalStep.objects.create(invoice=invoice, approver=cast.approver)
    client.force_login(cast.approver)

    assert client.get(_detail(invoice)).status_code == 200
    assert client.get(reverse("apinvoices:document_original", args=[invoice.document_id])).status_code == 200


@pytest.mark.parametrize("n", [1, 12])
def test_detail_query_count_is_fixed(client, cast, django_assert_num_queries, n):
    invoice = _rich_invoice(cast, lines=n, events=n)
    client.force_login(cast.clerk)

    # session, user, groups, invoice (+vendor, document, PO), fields, lines, taxes, open
    # exceptions, events (+actors), receipts (+users), ERP postings (prefetched for the posting
    # status panel, one query however many), navigation counts.
    with django_assert_num_queries(12):
        response = client.get(_detail(invoice))

    assert response.status_code == 200


def test_void_moves_the_invoice_and_records_who_and_why(client, cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    client.force_login(cast.clerk)

    response = client.post(reverse("apinvoices:invoice_void", args=[invoice.pk]), {"reason": "sent twice by post"})

    assert response.status_code == 302 and response.url == _detail(invoice)
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.VOID
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.STATE)
    assert (event.actor, event.message, event.to_state) == (cast.clerk, "sent twice by post", "void")


def test_void_of_a_state_that_cannot_be_voided_changes_nothing_and_says_why(client, cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    invoice_transition(invoice=invoice, to=Invoice.State.AWAITING_APPROVAL, actor=cast.clerk)
    invoice_transition(invoice=invoice, to=Invoice.State.APPROVED, source="test")
    client.force_login(cast.clerk)

    # A stale page still shows the Void button; posting it must not change the approved invoice.
    response = client.post(reverse("apinvoices:invoice_void", args=[invoice.pk]), follow=True)

    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.APPROVED
    assert InvoiceEvent.objects.filter(invoice=invoice, to_state="void").count() == 0
    assert "Nothing changed" in response.content.decode()


def test_void_button_only_where_the_state_allows_it(client, cast):
    paid = InvoiceFactory(state=Invoice.State.PAID)
    open_ = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    client.force_login(cast.clerk)

    assert b"void-form" not in client.get(_detail(paid)).content
    assert b"void-form" in client.get(_detail(open_)).content


def test_auditor_sees_the_invoice_but_cannot_void(client, cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    client.force_login(cast.auditor)

    assert b"void-form" not in client.get(_detail(invoice)).content
    assert client.post(reverse("apinvoices:invoice_void", args=[invoice.pk])).status_code == 403
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.NEEDS_REVIEW


def test_void_needs_post(client, cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    client.force_login(cast.clerk)

    assert client.get(reverse("apinvoices:invoice_void", args=[invoice.pk])).status_code == 405


# --- original download -----------------------------------------------------------------------


def _streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def test_original_downloads_as_attachment_with_safe_headers(client, cast):
    document = DocumentFactory(original_filename='../../etc/"évil"\r\nname.pdf')
    InvoiceFactory(document=document)
    client.force_login(cast.clerk)

    response = client.get(reverse("apinvoices:document_original", args=[document.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\r" not in disposition and "\n" not in disposition and ".." not in disposition
    assert 'filename="evil_name.pdf"' in disposition
    with document.file.open("rb") as fh:
        assert _streamed(response) == fh.read()


def test_inline_variant_is_sandboxed_and_only_for_pdf_or_images(client, cast):
    pdf = DocumentFactory()
    InvoiceFactory(document=pdf)
    xml = DocumentFactory(content_type="application/xml", kind="xml", original_filename="inv.xml")
    InvoiceFactory(document=xml)
    client.force_login(cast.clerk)

    inline = client.get(reverse("apinvoices:document_original", args=[pdf.pk]), {"inline": "1"})
    forced = client.get(reverse("apinvoices:document_original", args=[xml.pk]), {"inline": "1"})

    assert inline["Content-Disposition"].startswith("inline;")
    assert inline["Content-Security-Policy"] == "sandbox"
    assert forced["Content-Disposition"].startswith("attachment;")


def test_media_url_is_not_routed(client, cast):
    document = DocumentFactory()
    client.force_login(cast.admin)

    assert client.get(f"/media/{document.file.name}").status_code == 404


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("invoice 42.pdf", "application/pdf", "invoice 42.pdf"),
        ("C:\\Users\\x\\Rechnung März.PDF", "application/pdf", "Rechnung Marz.PDF"),
        ("scan", "image/png", "scan.png"),
        ("", "application/pdf", "document-7.pdf"),
        ("payload.html", "application/pdf", "payload.html.pdf"),
        ("...", "application/xml", "document-7.xml"),
    ],
)
def test_safe_download_name(filename, content_type, expected):
    from apinvoices.models import Document

    document = Document(pk=7, original_filename=filename, content_type=content_type)

    assert safe_download_name(document) == expected
