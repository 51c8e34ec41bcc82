"""Four-eyes in the browser: the clerk who entered a bank account cannot verify it from the
review screen; a colleague can, and the blocked invoice moves on."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from apinvoices.models import Document, Invoice, VendorBankAccount
from apinvoices.services.extraction import invoice_extract
from apinvoices.tests.factories import UserFactory, VendorFactory
from apinvoices.roles import Role
from apinvoices.tests.review.pdfs import odd_layout_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_bank_detail_exception_needs_a_second_clerk(page, login_as, live_server, screenshot):
    clerk_a = UserFactory(username="anna", first_name="Anna", roles=[Role.CLERK])
    clerk_b = UserFactory(username="ben", first_name="Ben", roles=[Role.CLERK])
    VendorFactory(name="Quirky Supplies GmbH", tax_id="DE136695976", phone="+49 30 1234567")
    data = odd_layout_pdf(number="QS-2024-0815")
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.PDF,
        content_type="application/pdf", original_filename="quirky.pdf", channel="upload",
        file=ContentFile(data, name="quirky.pdf"),
    )
    invoice = invoice_extract(invoice_id=Invoice.objects.create(document=document).pk)
    account = VendorBankAccount.objects.get(iban="DE89370400440532013000")
    account.entered_by = clerk_a
    account.save(update_fields=["entered_by"])
    assert invoice.state == Invoice.State.EXCEPTION
    assert invoice.exceptions.filter(kind="bank_details", status="open").exists()

    login_as(clerk_a)
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    page.locator(".viewer-img").wait_for()
    page.wait_for_function("document.querySelector('.viewer-img').naturalWidth > 0")
    # The generic reader missed the number ("Ref. doc."); Anna types it in place.
    number = page.locator("#input-invoice_number")
    number.fill("QS-2024-0815")
    with page.expect_response(lambda r: "/fields/invoice_number/" in r.url):
        number.press("Enter")
    page.locator("#field-total_amount").click()
    screenshot("1-review-screen")
    invoice.refresh_from_db()
    assert invoice.invoice_number == "QS-2024-0815"
    assert set(invoice.exceptions.filter(status="open", severity="blocking").values_list("kind", flat=True)) == {
        "bank_details"
    }

    page.get_by_role("link", name="verify the account").click()
    page.get_by_label("Verification method").fill("Call-back to +49 30 1234567 on file")
    page.get_by_role("button", name="Verify").click()
    page.get_by_text("someone else must verify it").wait_for()
    screenshot("2-refused-for-anna")
    account.refresh_from_db()
    assert account.status == VendorBankAccount.Status.UNVERIFIED

    page.context.clear_cookies()
    login_as(clerk_b)
    page.goto(f"{live_server.url}/vendors/{account.vendor_id}/")
    page.get_by_label("Verification method").fill("Call-back to +49 30 1234567 on file")
    page.get_by_role("button", name="Verify").click()
    page.get_by_text("Account verified").wait_for()
    assert page.get_by_test_id("account-status").inner_text() == "Verified"
    screenshot("3-verified-by-ben")

    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    invoice.refresh_from_db()
    assert invoice.state != Invoice.State.EXCEPTION
    assert not invoice.exceptions.filter(kind="bank_details", status="open").exists()
    assert page.get_by_test_id("invoice-state").inner_text() == invoice.get_state_display()
    screenshot("4-invoice-moved-on", full_page=True)
