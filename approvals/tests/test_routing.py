"""Routing: first matching rule wins, default otherwise, segregation of duties, delegation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apinvoices.models import FieldSource, Invoice
from apinvoices.roles import Role
from apinvoices.tests.factories import InvoiceFactory
from approvals.models import ApprovalRule, ApprovalRuleStep, ApprovalStep, Delegation
from approvals.services.routing import NoApproverAvailable, invoice_route, rule_for_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_rule(cast):
    rule = ApprovalRule.objects.create(name="Over 10k EUR", priority=10, currency="EUR", min_amount=Decimal("10000"))
    ApprovalRuleStep.objects.create(rule=rule, level=1, approver_user=cast.approver)
    ApprovalRuleStep.objects.create(rule=rule, level=2, approver_user=cast.second_approver)
    return rule


def test_small_invoice_falls_to_default_rule(cast, big_rule):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, total_amount=Decimal("119.00"))
    assert rule_for_invoice(invoice).is_default


def test_large_invoice_gets_two_sequential_levels(cast, big_rule):
    invoice = InvoiceFactory(
        state=Invoice.State.NEEDS_REVIEW, net_amount=Decimal("10000"), tax_amount=Decimal("1900"),
        total_amount=Decimal("11900"),
    )
    routed = invoice_route(invoice=invoice, source="test")
    assert routed.state == Invoice.State.AWAITING_APPROVAL
    steps = list(ApprovalStep.objects.filter(invoice=invoice).order_by("level"))
    assert [(s.level, s.approver, s.state) for s in steps] == [
        (1, cast.approver, ApprovalStep.State.PENDING),
        (2, cast.second_approver, ApprovalStep.State.WAITING),
    ]


def test_rule_in_other_currency_does_not_match(cast, big_rule):
    invoice = InvoiceFactory(currency="USD", total_amount=Decimal("50000"), net_amount=None, tax_amount=None)
    assert rule_for_invoice(invoice).is_default


def test_default_rule_sends_to_every_approver_group_member_except_the_editor(cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    invoice.fields.create(name="total_amount", value="119.00", confidence=1, source=FieldSource.CLERK, updated_by=cast.approver)
    invoice_route(invoice=invoice, source="test")
    approvers = set(ApprovalStep.objects.filter(invoice=invoice).values_list("approver__username", flat=True))
    assert approvers == {"approver2"}


def test_nobody_left_to_approve_raises_and_changes_nothing(cast):
    rule = ApprovalRule.objects.get(is_default=True)
    rule.steps.all().delete()
    ApprovalRuleStep.objects.create(rule=rule, level=1, approver_user=cast.clerk)
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    with pytest.raises(NoApproverAvailable):
        invoice_route(invoice=invoice, actor=cast.clerk)
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.NEEDS_REVIEW
    assert not ApprovalStep.objects.filter(invoice=invoice).exists()


def test_delegate_gets_the_step_on_behalf_of_the_absent_approver(cast, big_rule):
    today = timezone.localdate()
    Delegation.objects.create(user=cast.approver, delegate=cast.auditor, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=3))
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, net_amount=None, tax_amount=None, total_amount=Decimal("20000"))
    invoice_route(invoice=invoice, source="test")
    step = ApprovalStep.objects.get(invoice=invoice, level=1)
    assert (step.approver, step.on_behalf_of) == (cast.auditor, cast.approver)


def test_routing_again_supersedes_the_previous_round(cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    invoice_route(invoice=invoice, source="test")
    Invoice.objects.filter(pk=invoice.pk).update(state=Invoice.State.NEEDS_REVIEW)
    invoice_route(invoice=invoice, source="test")
    rounds = set(ApprovalStep.objects.filter(invoice=invoice, state=ApprovalStep.State.PENDING).values_list("round", flat=True))
    assert rounds == {2}
    assert ApprovalStep.objects.filter(invoice=invoice, round=1, state=ApprovalStep.State.SUPERSEDED).count() == 2
    assert Group.objects.get(name=Role.APPROVER).user_set.count() == 2
