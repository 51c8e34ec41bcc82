"""An approver decides from the e-mail: the real message, rendered in Chromium, its link, confirm.

The e-mail travels through Django's SMTP backend to an aiosmtpd server on 127.0.0.1; the test
renders its HTML part in the browser, clicks "Approve…", confirms on the page it opens, and
checks the outcome in the database. Screenshots go to test-artefacts/screenshots/.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from apinvoices.models import Invoice, InvoiceEvent, InvoiceException
from apinvoices.tests.factories import InvoiceFactory, VendorFactory
from approvals.models import ApprovalRule, ApprovalRuleStep, ApprovalStep
from approvals.services.routing import invoice_route
from approvals.tests.conftest import smtp, smtp_server  # noqa: F401 (fixtures)
from erp_integration.models import ErpPosting

pytestmark = [pytest.mark.e2e, pytest.mark.smtp, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
# Fixture order matters: ``page``/``live_server`` must come before anything that writes rows
# (``cast``). The other way round, a test left the role groups flushed without restoring them
# and every later browser test in the process saw users with no role (measured here).


@pytest.fixture
def routed_invoice(live_server, cast, smtp, settings):  # noqa: F811 (fixture by import)
    settings.AP_BASE_URL = live_server.url
    rule = ApprovalRule.objects.create(name="Office supplies", priority=10, currency="EUR",
                                       max_amount=Decimal("5000"), allow_bulk_approval=True)
    ApprovalRuleStep.objects.create(rule=rule, level=1, approver_user=cast.approver)
    cast.approver.first_name, cast.approver.last_name = "Anna", "Approver"
    cast.approver.save()
    vendor = VendorFactory(name="Nordwind Logistik GmbH")
    invoice = InvoiceFactory(vendor=vendor, vendor_name=vendor.name, invoice_number="NW-2026-0117",
                             state=Invoice.State.NEEDS_REVIEW, net_amount=Decimal("1050.00"),
                             tax_amount=Decimal("199.50"), total_amount=Decimal("1249.50"))
    InvoiceException.objects.create(invoice=invoice, kind=InvoiceException.Kind.AMOUNT_PATTERN,
                                    severity=InvoiceException.Severity.WARNING,
                                    message="Total is 2.4× this vendor's average of the last 12 months.")
    invoice_route(invoice=invoice, source="test")  # commits: the e-mail task runs after commit
    (message,) = smtp.wait_for(1)
    return invoice, message.parsed()


def test_approver_approves_from_the_email_link(page, live_server, screenshot, routed_invoice):
    invoice, message = routed_invoice
    html = message.get_body(preferencelist=("html",)).get_content()
    page.set_content(html)
    page.wait_for_load_state()
    screenshot("email")
    assert page.get_by_text("Nordwind Logistik GmbH").is_visible()
    assert page.get_by_text("1,249.50").is_visible()

    page.get_by_role("link", name="Approve…").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{live_server.url}/approvals/email/")
    page.get_by_role("heading", name="Approve this invoice?").wait_for()
    screenshot("confirm")
    assert ApprovalStep.objects.get(invoice=invoice).state == ApprovalStep.State.PENDING  # GET changed nothing

    page.get_by_role("button", name="Approve invoice").click()
    page.get_by_role("heading", name="Approval recorded").wait_for()
    screenshot("done")
    invoice.refresh_from_db()
    # The posting task runs right after the approving commit (tasks are inline in tests), so
    # the invoice may already be posted by the time we look.
    assert invoice.state in (Invoice.State.APPROVED, Invoice.State.POSTED)
    assert InvoiceEvent.objects.filter(invoice=invoice, to_state=Invoice.State.APPROVED).exists()
    assert ErpPosting.objects.filter(invoice=invoice).exists()
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL)
    assert event.params["via"] == "email" and "HeadlessChrome" in event.user_agent

    page.go_back()
    page.reload()
    page.get_by_role("heading", name="This link was already used").wait_for()
    screenshot("used")


def test_approver_rejects_from_the_email_link_with_a_reason(page, live_server, screenshot, routed_invoice):
    invoice, message = routed_invoice
    page.set_content(message.get_body(preferencelist=("html",)).get_content())
    page.get_by_role("link", name="Reject…").click()
    page.get_by_role("heading", name="Reject this invoice?").wait_for()
    screenshot("confirm")
    page.get_by_label("Why do you reject it? (required; the AP team sees this)").fill("Price differs from our contract")
    page.get_by_role("button", name="Reject invoice").click()
    page.get_by_role("heading", name="Invoice rejected").wait_for()
    screenshot("done")
    invoice.refresh_from_db()
    assert (invoice.state, invoice.state_reason) == (Invoice.State.REJECTED, "Price differs from our contract")
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL)
    assert event.params["via"] == "email" and event.actor == invoice.approval_steps.get().approver


def test_approver_rejects_in_the_workbench(page, live_server, login_as, screenshot, cast, routed_invoice):
    invoice, _message = routed_invoice
    login_as(cast.approver)
    page.goto(f"{live_server.url}/approvals/")
    page.get_by_role("heading", name="My approvals").wait_for()
    screenshot("list")
    page.get_by_role("link", name="NW-2026-0117").click()
    page.get_by_role("heading", name="Your decision").wait_for()
    screenshot("decision", full_page=True)
    page.get_by_label("Comment (required to reject; the clerk sees it)").fill("Not ordered by us")
    page.get_by_role("button", name="Reject").click()
    page.get_by_text("rejected; the AP team sees your comment").wait_for()
    screenshot("rejected")
    invoice.refresh_from_db()
    assert (invoice.state, invoice.state_reason) == (Invoice.State.REJECTED, "Not ordered by us")
