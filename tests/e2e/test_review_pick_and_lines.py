"""The review screen in the browser: fill a field by clicking a word on the page image, and
work the line items in place until the lines add up."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from apinvoices.models import Document, ExtractedField, Invoice, VendorFieldHint
from apinvoices.roles import Role
from apinvoices.services.extraction import invoice_extract
from apinvoices.tests.factories import UserFactory, VendorFactory
from apinvoices.tests.review.pdfs import odd_layout_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _extracted_odd_invoice(number: str) -> Invoice:
    data = odd_layout_pdf(number=number)
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.PDF,
        content_type="application/pdf", original_filename=f"{number}.pdf", channel="upload",
        file=ContentFile(data, name=f"{number}.pdf"),
    )
    return invoice_extract(invoice_id=Invoice.objects.create(document=document).pk)


def _open_review(page, live_server, invoice):
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    page.locator(".viewer-img").wait_for()
    page.wait_for_function("document.querySelector('.viewer-img').naturalWidth > 0")


def test_clicking_a_word_on_the_page_fills_the_selected_field(page, login_as, live_server, screenshot):
    clerk = UserFactory(username="anna", first_name="Anna", roles=[Role.CLERK])
    vendor = VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976")
    invoice = _extracted_odd_invoice("QS-2024-0815")
    assert invoice.invoice_number == ""  # the generic reader misses "Ref. doc."

    login_as(clerk)
    _open_review(page, live_server, invoice)
    page.locator("#field-invoice_number .field-label").click()
    word = page.locator('.viewer-word[title="QS-2024-0815"]')
    word.wait_for()
    assert page.locator('[data-viewer="pick-hint"]').inner_text() == "Click a word on the page to fill “Invoice number” (Esc to stop)"
    word.hover()
    screenshot("1-word-boxes-over-the-page")

    with page.expect_response(lambda r: "/fields/invoice_number/pick/" in r.url):
        word.click()
    page.wait_for_function("document.querySelector('#input-invoice_number').value === 'QS-2024-0815'")
    page.locator("#field-invoice_number .field-source", has_text="Clerk").wait_for()
    screenshot("2-field-filled-from-the-click")

    field = ExtractedField.objects.get(invoice=invoice, name="invoice_number")
    assert (field.value, field.source, field.updated_by) == ("QS-2024-0815", "clerk", clerk)
    assert VendorFieldHint.objects.get(vendor=vendor, field_name="invoice_number").label == "Ref. doc."


def test_lines_are_added_and_edited_in_place_until_they_add_up(page, login_as, live_server, screenshot):
    clerk = UserFactory(username="anna", first_name="Anna", roles=[Role.CLERK])
    VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976")
    invoice = _extracted_odd_invoice("QS-2024-0815")
    assert [line.amount for line in invoice.lines.all()] == [Decimal("100.00")]  # "1 Beratung 100,00"
    invoice.lines.all().delete()  # as for a scan whose table could not be read
    assert invoice.net_amount == Decimal("100.00")

    login_as(clerk)
    _open_review(page, live_server, invoice)
    # The clerk types the line as printed, but misreads 100,00 as 10,00.
    page.locator("#line-new-description").fill("Beratung")
    page.locator("#line-new-quantity").fill("1")
    page.locator("#line-new-amount").fill("10,00")
    with page.expect_response(lambda r: r.url.endswith(f"/invoices/{invoice.pk}/lines/")):
        page.locator("#line-new-amount").press("Enter")
    panel = page.locator("#review-actions")
    panel.get_by_text("lines add up to 10.00 EUR").wait_for()
    page.locator(".lines-sum.is-mismatch").wait_for()
    page.locator("#lines-panel").scroll_into_view_if_needed()
    screenshot("1-line-misread")

    line = invoice.lines.get()
    amount = page.locator(f"#line-{line.pk}-amount")
    amount.fill("100,00")
    with page.expect_response(lambda r: f"/lines/{line.pk}/" in r.url):
        amount.press("Tab")
    page.wait_for_function("!document.querySelector('.lines-sum.is-mismatch')")
    panel.get_by_text("lines add up to").wait_for(state="detached")
    page.locator("#lines-panel").scroll_into_view_if_needed()
    screenshot("2-line-fixed-sum-matches")

    line.refresh_from_db()
    assert (line.description, line.quantity, line.amount) == ("Beratung", Decimal("1"), Decimal("100.00"))
    assert not invoice.exceptions.filter(kind="arithmetic", status="open").exists()
    assert invoice.events.filter(kind="field_edit", actor=clerk).count() == 2
