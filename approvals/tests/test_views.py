"""Approver pages: my approvals (query count pinned), decision page, htmx decision, bulk, delegation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent, InvoiceException
from apinvoices.tests.factories import InvoiceFactory
from approvals.models import ApprovalStep, Delegation
from approvals.services.routing import invoice_route

pytestmark = pytest.mark.django_db
S = ApprovalStep.State


def small_invoice(**kwargs) -> Invoice:
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, net_amount=None, tax_amount=None,
                             total_amount=Decimal("80.00"), **kwargs)
    invoice_route(invoice=invoice, source="test")
    return invoice


def step_for(invoice) -> ApprovalStep:
    return ApprovalStep.objects.get(invoice=invoice, state=S.PENDING)


def _list_queries(client, count: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("approvals:my_approvals"))
    assert response.status_code == 200
    assert response.content.decode().count('name="steps"') == count
    return len(ctx.captured_queries)


def test_my_approvals_lists_pending_steps_with_a_query_count_independent_of_size(
    cast, single_rule, client
):
    client.force_login(cast.approver)
    for _ in range(2):
        small_invoice()
    few = _list_queries(client, 2)
    for _ in range(8):
        small_invoice()
    many = _list_queries(client, 10)
    assert few == many
    # session, user, the list (one query for any size), roles, and two permission lookups (nav)
    assert many == 6


def test_my_approvals_shows_facts_and_exception_counts(cast, single_rule, client):
    invoice = small_invoice(invoice_number="INV-555", due_date=timezone.localdate() + timedelta(days=9))
    InvoiceException.objects.create(invoice=invoice, kind=InvoiceException.Kind.DATES,
                                    severity=InvoiceException.Severity.WARNING, message="Odd date")
    client.force_login(cast.approver)
    body = client.get(reverse("approvals:my_approvals")).content.decode()
    assert "INV-555" in body and invoice.vendor.name in body and "80.00" in body
    assert '<span class="exc-count">1</span>' in body
    assert invoice.due_date.isoformat() in body
    # Not bulk-approvable while an exception is open.
    assert 'name="steps"' not in body


def test_empty_list_says_what_to_do(cast, client):
    client.force_login(cast.approver)
    body = client.get(reverse("approvals:my_approvals")).content.decode()
    assert "Nothing waits for your approval" in body


def test_decision_page_shows_key_facts_original_exceptions_and_history(cast, single_rule, client):
    invoice = small_invoice(invoice_number="INV-900")
    InvoiceException.objects.create(invoice=invoice, kind=InvoiceException.Kind.CURRENCY,
                                    severity=InvoiceException.Severity.WARNING, message="Unusual currency for vendor")
    client.force_login(cast.approver)
    response = client.get(reverse("approvals:step", kwargs={"pk": step_for(invoice).pk}))
    body = response.content.decode()
    assert response.status_code == 200
    assert "INV-900" in body and "Unusual currency for vendor" in body
    assert reverse("apinvoices:document_original", kwargs={"pk": invoice.document_id}) in body
    assert "Routed by rule" in body  # history
    assert 'value="approve"' in body and 'value="reject"' in body
    # The assigned approver may open the original through the existing permission layer.
    original = client.get(reverse("apinvoices:document_original", kwargs={"pk": invoice.document_id}))
    assert original.status_code == 200


def test_outsider_cannot_see_or_decide_a_step(cast, single_rule, client):
    invoice = small_invoice()
    step = step_for(invoice)
    client.force_login(cast.outsider)
    assert client.get(reverse("approvals:step", kwargs={"pk": step.pk})).status_code == 403
    response = client.post(reverse("approvals:step_decide", kwargs={"pk": step.pk}), {"decision": "approve"})
    assert response.status_code == 403
    step.refresh_from_db()
    assert step.state == S.PENDING


def test_decision_page_get_never_acts_and_login_is_required(cast, single_rule, client):
    invoice = small_invoice()
    url = reverse("approvals:step", kwargs={"pk": step_for(invoice).pk})
    assert client.get(url).status_code == 302  # to the login page
    assert client.get(reverse("approvals:step_decide", kwargs={"pk": step_for(invoice).pk})).status_code in (302, 405)


def test_htmx_approve_reloads_the_step_page_with_the_outcome(cast, single_rule, client):
    invoice = small_invoice()
    step = step_for(invoice)
    client.force_login(cast.approver)
    url = reverse("approvals:step", kwargs={"pk": step.pk})
    response = client.post(reverse("approvals:step_decide", kwargs={"pk": step.pk}), {"decision": "approve"},
                           HTTP_HX_REQUEST="true", HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 204 and response["HX-Redirect"] == url
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL)
    assert (event.ip_address, event.user_agent, event.params["via"]) == ("203.0.113.5", "Firefox/140", "web")
    body = client.get(url).content.decode()
    assert "approved and queued for posting" in body  # the message
    assert 'value="approve"' not in body  # decided: no form any more


def test_htmx_refusal_swaps_only_the_decision_panel(cast, single_rule, client):
    invoice = small_invoice()
    step = step_for(invoice)
    client.force_login(cast.approver)
    response = client.post(reverse("approvals:step_decide", kwargs={"pk": step.pk}), {"decision": "reject"},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="decision-panel"' in body and "<html" not in body
    assert "say why" in body


def test_reject_without_comment_shows_the_error_and_changes_nothing(cast, single_rule, client):
    invoice = small_invoice()
    step = step_for(invoice)
    client.force_login(cast.approver)
    response = client.post(reverse("approvals:step_decide", kwargs={"pk": step.pk}), {"decision": "reject"})
    assert response.status_code == 409 and "say why" in response.content.decode()
    step.refresh_from_db()
    assert step.state == S.PENDING


def test_plain_post_redirects_with_a_message(cast, single_rule, client):
    invoice = small_invoice()
    client.force_login(cast.approver)
    response = client.post(reverse("approvals:step_decide", kwargs={"pk": step_for(invoice).pk}),
                           {"decision": "reject", "comment": "Wrong cost centre"}, follow=True)
    assert "rejected" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.REJECTED


def test_bulk_approval_from_the_list(cast, single_rule, client):
    invoices = [small_invoice() for _ in range(3)]
    client.force_login(cast.approver)
    ids = [step_for(i).pk for i in invoices[:2]]
    response = client.post(reverse("approvals:bulk_approve"), {"steps": ids}, follow=True)
    assert "2 invoice(s) approved" in response.content.decode()
    states = [Invoice.objects.get(pk=i.pk).state for i in invoices]
    assert states == [Invoice.State.APPROVED, Invoice.State.APPROVED, Invoice.State.AWAITING_APPROVAL]


def test_bulk_ignores_steps_of_other_users(cast, single_rule, client):
    invoice = small_invoice()
    client.force_login(cast.second_approver)
    client.post(reverse("approvals:bulk_approve"), {"steps": [step_for(invoice).pk]})
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL


def test_delegation_page_creates_a_delegation_and_shows_errors(cast, client):
    client.force_login(cast.approver)
    url = reverse("approvals:delegation")
    assert client.get(url).status_code == 200
    today = timezone.localdate()
    bad = client.post(url, {"delegate": cast.second_approver.pk, "starts_on": today.isoformat(),
                            "ends_on": (today - timedelta(days=1)).isoformat()})
    assert bad.status_code == 400 and "must not be before" in bad.content.decode()
    ok = client.post(url, {"delegate": cast.second_approver.pk, "starts_on": today.isoformat(),
                           "ends_on": (today + timedelta(days=5)).isoformat(), "reason": "Holiday"}, follow=True)
    assert "Your delegate is set" in ok.content.decode()
    assert Delegation.objects.get().delegate == cast.second_approver


def test_delegation_page_is_for_approvers(cast, client):
    client.force_login(cast.clerk)
    assert client.get(reverse("approvals:delegation")).status_code == 403
