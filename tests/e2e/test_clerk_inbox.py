"""A clerk's first minutes: log in, scan the inbox, open an invoice, fetch its original."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from decimal import Decimal

import pytest
from django.utils import timezone

from apinvoices.models import (
    DocumentReceipt,
    ExtractedField,
    Invoice,
    InvoiceException,
    InvoiceTax,
)
from apinvoices.states import invoice_transition
from apinvoices.tests.factories import (
    DocumentFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    VendorFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

S = Invoice.State
PATHS = {
    S.NEEDS_REVIEW: [S.EXTRACTING, S.NEEDS_REVIEW],
    S.EXCEPTION: [S.EXTRACTING, S.EXCEPTION],
    S.AWAITING_APPROVAL: [S.EXTRACTING, S.AWAITING_APPROVAL],
    S.APPROVED: [S.EXTRACTING, S.AWAITING_APPROVAL, S.APPROVED],
    S.POSTED: [S.EXTRACTING, S.AWAITING_APPROVAL, S.APPROVED, S.POSTED],
    S.PAID: [S.EXTRACTING, S.AWAITING_APPROVAL, S.APPROVED, S.POSTED, S.PAID],
    S.EXTRACTION_FAILED: [S.EXTRACTING, S.EXTRACTION_FAILED],
}


def _invoice(vendor, state, *, number, total, currency="EUR", confidence="0.97", age_days=2, due_in=20):
    received = timezone.now() - timedelta(days=age_days)
    document = DocumentFactory(received_at=received, original_filename=f"{number}.pdf")
    total = Decimal(total)
    net = (total / Decimal("1.19")).quantize(Decimal("0.01"))
    invoice = InvoiceFactory(
        document=document, vendor=vendor, invoice_number=number, currency=currency,
        net_amount=net, tax_amount=total - net, total_amount=total,
        issue_date=date.today() - timedelta(days=age_days + 1), due_date=date.today() + timedelta(days=due_in),
        min_confidence=Decimal(confidence),
    )
    for step in PATHS[state]:
        invoice_transition(invoice=invoice, to=step, source="task:pipeline", reason="")
    return invoice


def _inbox_data(clerk) -> tuple[Invoice, bytes]:
    nordwind = VendorFactory(name="Nordwind Logistik GmbH")
    vallee = VendorFactory(name="Bureau Vallée SARL", country="FR")
    acme = VendorFactory(name="Acme Office Supplies Ltd", country="GB", default_currency="GBP")
    stadtwerke = VendorFactory(name="Stadtwerke Köln")
    vdberg = VendorFactory(name="Van der Berg Consultancy B.V.", country="NL")
    iberia = VendorFactory(name="Iberia Packaging S.L.", country="ES")

    focus = _invoice(nordwind, S.EXCEPTION, number="NW-2024-10417", total="4862.25", confidence="0.58", age_days=3)
    _invoice(vallee, S.NEEDS_REVIEW, number="F-88213", total="1290.00", confidence="0.74", age_days=1)
    _invoice(acme, S.AWAITING_APPROVAL, number="INV-004512", total="318.40", currency="GBP", age_days=6)
    _invoice(stadtwerke, S.APPROVED, number="2024/118844", total="12450.90", age_days=9)
    _invoice(vdberg, S.POSTED, number="VDB-0931", total="7600.00", age_days=14, due_in=-2)
    _invoice(iberia, S.PAID, number="A-2024-0077", total="915.75", age_days=31, due_in=-10)
    _invoice(nordwind, S.NEEDS_REVIEW, number="NW-2024-10533", total="655.10", confidence="0.93", age_days=0)
    _invoice(vallee, S.EXTRACTION_FAILED, number="", total="0.01", confidence="0.12", age_days=0)

    InvoiceException.objects.create(
        invoice=focus, kind="arithmetic", key="net+tax", severity="blocking",
        message="Net 4,085.92 plus tax 776.33 is 4,862.25, but the lines add up to 4,812.25.",
    )
    InvoiceException.objects.create(
        invoice=focus, kind="bank_details", key="iban", severity="blocking",
        message="The IBAN on this invoice is not one of Nordwind Logistik GmbH's verified accounts.",
    )
    for position, (text, qty, price) in enumerate(
        [("Road freight Hamburg – Köln, pallet", "12", "245.00"),
         ("Waiting time, per hour", "3", "65.00"),
         ("Fuel surcharge", "1", "779.27")], start=1):
        InvoiceLineFactory(invoice=focus, position=position, description=text, quantity=Decimal(qty),
                           unit_price=Decimal(price), amount=Decimal(qty) * Decimal(price))
    InvoiceTax.objects.create(invoice=focus, rate=Decimal("19"), category="S",
                              base_amount=focus.net_amount, tax_amount=focus.tax_amount)
    for name, value, confidence, source in [
        ("vendor_name", focus.vendor_name, "0.99", "text"),
        ("vendor_tax_id", focus.vendor.tax_id, "0.97", "text"),
        ("vendor_iban", "DE44500105175407324931", "0.88", "text"),
        ("invoice_number", focus.invoice_number, "0.96", "text"),
        ("issue_date", focus.issue_date.isoformat(), "0.92", "text"),
        ("due_date", focus.due_date.isoformat(), "0.64", "llm"),
        ("net_amount", str(focus.net_amount), "0.91", "text"),
        ("tax_amount", str(focus.tax_amount), "0.58", "ocr"),
        ("total_amount", str(focus.total_amount), "0.95", "text"),
    ]:
        ExtractedField.objects.create(invoice=focus, name=name, value=value, confidence=Decimal(confidence),
                                      source=source, page=1)
    Invoice.objects.filter(pk=focus.pk).update(
        vendor_iban="DE44500105175407324931", vendor_bic="COBADEFFXXX", payment_terms="Net 30",
        vendor_tax_id=focus.vendor.tax_id,
    )
    DocumentReceipt.objects.create(document=focus.document, channel="email", sender="billing@nordwind.example",
                                   subject="Rechnung NW-2024-10417", filename="NW-2024-10417.pdf")
    DocumentReceipt.objects.create(document=focus.document, channel="upload", received_by=clerk,
                                   filename="NW-2024-10417.pdf", is_duplicate=True)
    with focus.document.file.open("rb") as fh:
        original = fh.read()
    return focus, original


def test_clerk_reviews_inbox_opens_invoice_and_downloads_original(login_as, live_server, cast, screenshot):
    focus, original = _inbox_data(cast.clerk)

    page = login_as(cast.clerk, password="not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("The username or password is wrong")
    screenshot("login-wrong-password")

    page = login_as(cast.clerk)

    assert page.url == f"{live_server.url}/"
    rows = page.locator("table.inbox-table tbody tr")
    assert rows.count() == 8
    assert page.get_by_role("link", name="Exception 1").is_visible()
    assert "4,862.25 EUR" in page.locator("tr", has_text="NW-2024-10417").inner_text().replace("\xa0", " ")
    screenshot("inbox")

    # j/j moves the selection down twice, Enter opens that row (the second newest invoice).
    page.keyboard.press("j")
    page.keyboard.press("j")
    selected = page.locator("tr.row-selected")
    assert selected.count() == 1
    selected_number = selected.locator("a.row-link").inner_text()

    # A filter change swaps only the table (htmx) and pushes the URL.
    page.get_by_role("searchbox", name="Search invoices").fill("NW-2024-10417")
    page.wait_for_url("**q=NW-2024-10417**")
    assert rows.count() == 1

    page.get_by_role("link", name="NW-2024-10417").click()
    page.wait_for_url(f"**/invoices/{focus.pk}/")
    assert page.get_by_role("heading", name="Open exceptions").is_visible()
    assert page.get_by_text("not one of Nordwind Logistik GmbH's verified accounts").is_visible()
    screenshot("invoice")
    screenshot("invoice-full", full_page=True)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download original").click()
    download = info.value
    assert download.suggested_filename == "NW-2024-10417.pdf"
    assert Path(download.path()).read_bytes() == original

    page.go_back()
    page.goto(f"{live_server.url}/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/invoices/*/")
    assert selected_number in page.locator("h1").inner_text()




def test_empty_inbox_and_a_role_without_inbox_get_clear_guidance(login_as, page, live_server, cast, screenshot):
    login_as(cast.clerk)
    assert page.get_by_text("No invoices yet.").is_visible()
    screenshot("empty-inbox")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")

    login_as(cast.approver)
    assert page.get_by_role("heading", name="Your role cannot open this page").is_visible()
    assert page.locator(".app-user-role").inner_text() == "Approver"
    screenshot("approver-forbidden")


def test_admin_edits_a_routing_rule_with_its_steps(login_as, page, live_server, cast, screenshot):
    from approvals.models import ApprovalRule

    login_as(cast.admin)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url("**/admin/")
    assert page.get_by_text("AP Workbench administration").is_visible()
    page.goto(f"{live_server.url}/admin/approvals/approvalrule/add/")
    page.get_by_label("Name:", exact=True).fill("Over 10,000 EUR")
    page.get_by_label("Priority:").fill("10")
    page.get_by_label("Currency:").fill("EUR")
    page.get_by_label("Min amount:").fill("10000")
    page.locator("#id_steps-0-name").fill("Finance manager")
    page.locator("#id_steps-0-approver_user").select_option(label=cast.approver.get_username())
    screenshot("rule-form")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/admin/approvals/approvalrule/")
    screenshot("rule-list")

    rule = ApprovalRule.objects.get(name="Over 10,000 EUR")
    assert list(rule.steps.values_list("name", "approver_user")) == [("Finance manager", cast.approver.pk)]
