"""Admin: "which rule would match invoice #N?" on the ApprovalRule admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apinvoices.models import Invoice
from apinvoices.tests.factories import InvoiceFactory
from approvals.models import ApprovalStep

pytestmark = pytest.mark.django_db


def test_preview_shows_matching_rule_and_its_approvers_without_routing(cast, two_level_rule, client):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, net_amount=None, tax_amount=None,
                             total_amount=Decimal("25000"))
    client.force_login(cast.admin)
    url = reverse("admin:approvals_approvalrule_preview")
    response = client.get(url, {"invoice": str(invoice.pk)})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Over 10k EUR" in body
    level_one = body.index("<td>1</td>")
    level_two = body.index("<td>2</td>")
    assert level_one < body.index(cast.approver.get_full_name()) < level_two
    assert body.index(cast.second_approver.get_full_name()) > level_two
    assert not ApprovalStep.objects.filter(invoice=invoice).exists()


def test_preview_of_small_invoice_names_default_rule_and_excludes_the_editor(cast, client):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    invoice.document.received_by = cast.approver
    invoice.document.save()
    client.force_login(cast.admin)
    body = client.get(reverse("admin:approvals_approvalrule_preview"), {"invoice": f"#{invoice.pk}"}).content.decode()
    assert "default rule" in body
    assert "excluded: entered or edited the invoice" in body


def test_preview_of_unknown_invoice_says_so(cast, client):
    client.force_login(cast.admin)
    body = client.get(reverse("admin:approvals_approvalrule_preview"), {"invoice": "999999"}).content.decode()
    assert "There is no invoice #999999" in body


def test_changelist_links_to_the_preview(cast, client):
    client.force_login(cast.admin)
    body = client.get(reverse("admin:approvals_approvalrule_changelist")).content.decode()
    assert reverse("admin:approvals_approvalrule_preview") in body


def test_preview_needs_admin_access(cast, client):
    client.force_login(cast.approver)
    response = client.get(reverse("admin:approvals_approvalrule_preview"), {"invoice": "1"})
    assert response.status_code == 302  # to the admin login
