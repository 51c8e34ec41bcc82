"""Admin: lists without N+1, state read-only, routing rules editable with their steps."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apinvoices.tests.world import build_world
from approvals.models import ApprovalRule

pytestmark = pytest.mark.django_db
OUR_APPS = {"apinvoices", "approvals", "erp_integration"}


def _changelists():
    return [
        (model._meta.label, reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        for model in admin.site._registry
        if model._meta.app_label in OUR_APPS
    ]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    return len(ctx)


def test_admin_changelists_do_not_grow_with_rows(client, cast):
    """GIVEN one, then four linked rows of every model WHEN each changelist renders
    THEN it takes the same number of queries (list_select_related covers list_display)."""
    build_world(cast, n=1)
    client.force_login(cast.admin)
    few = {label: _queries(client, url) for label, url in _changelists()}
    build_world(cast, n=3)
    many = {label: _queries(client, url) for label, url in _changelists()}

    assert {k: v for k, v in many.items() if v != few[k]} == {}


def test_site_header_names_the_product(client, cast):
    client.force_login(cast.admin)

    assert "AP Workbench administration" in client.get(reverse("admin:index")).content.decode()


def test_invoice_state_is_read_only_and_invoices_cannot_be_added(client, cast):
    world = build_world(cast)
    client.force_login(cast.admin)

    response = client.get(reverse("admin:apinvoices_invoice_change", args=[world.invoice.pk]))

    # Not a form field at all, so a crafted POST cannot set it either.
    assert "state" not in response.context["adminform"].form.fields
    assert "total_amount" in response.context["adminform"].form.fields
    assert 'name="state"' not in response.content.decode()
    assert client.get(reverse("admin:apinvoices_invoice_add")).status_code == 403


def test_approval_rule_with_steps_is_created_in_one_admin_form(client, cast):
    client.force_login(cast.admin)
    approvers = Group.objects.get(name="Approver")
    prefix = "steps"
    data = {
        "name": "Over 10k EUR: two levels",
        "priority": "10",
        "is_active": "on",
        "currency": "EUR",
        "min_amount": "10000",
        "max_amount": "",
        "vendor_category": "",
        "cost_centre": "",
        "gl_account": "",
        "has_warnings": "any",
        "po_backed": "any",
        "notify_webhook_url": "",
        f"{prefix}-TOTAL_FORMS": "2",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-level": "1",
        f"{prefix}-0-name": "Team lead",
        f"{prefix}-0-approver_user": str(cast.approver.pk),
        f"{prefix}-0-required_approvals": "1",
        f"{prefix}-1-level": "2",
        f"{prefix}-1-name": "Finance",
        f"{prefix}-1-approver_group": str(approvers.pk),
        f"{prefix}-1-required_approvals": "2",
    }

    response = client.post(reverse("admin:approvals_approvalrule_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    rule = ApprovalRule.objects.get(name="Over 10k EUR: two levels")
    steps = list(rule.steps.order_by("level").values_list("level", "approver_user", "approver_group", "required_approvals"))
    assert steps == [(1, cast.approver.pk, None, 1), (2, None, approvers.pk, 2)]


def test_bank_account_added_in_admin_records_who_entered_it_and_stays_unverified(client, cast):
    world = build_world(cast)
    client.force_login(cast.admin)

    response = client.post(reverse("admin:apinvoices_vendorbankaccount_add"), {
        "vendor": world.invoice.vendor.pk, "iban": "NL91ABNA0417164300", "bic": "", "account_number": "",
        "routing_number": "", "holder_name": "X", "currency": "EUR", "source": "phone call",
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    account = world.invoice.vendor.bank_accounts.get(iban="NL91ABNA0417164300")
    assert (account.entered_by, account.status) == (cast.admin, "unverified")
