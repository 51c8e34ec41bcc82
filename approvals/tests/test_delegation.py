"""Out-of-office delegation: validation, hand-over of open steps, decisions on behalf of."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.tests.factories import InvoiceFactory
from approvals.exceptions import ApprovalError, ApprovalErrorCode
from approvals.models import ApprovalStep, Delegation
from approvals.services.decisions import approval_step_decide
from approvals.services.delegation import delegation_create, delegations_apply_started
from approvals.services.routing import invoice_route

pytestmark = pytest.mark.django_db
S = ApprovalStep.State


def today():
    return timezone.localdate()


def small_invoice() -> Invoice:
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, net_amount=None, tax_amount=None,
                             total_amount=Decimal("80.00"))
    invoice_route(invoice=invoice, source="test")
    return invoice


def refused(code, **kwargs):
    with pytest.raises(ApprovalError) as err:
        delegation_create(**kwargs)
    assert err.value.code == code


def test_cannot_delegate_to_oneself(cast):
    refused(ApprovalErrorCode.DELEGATION_SELF, user=cast.approver, delegate=cast.approver,
            starts_on=today(), ends_on=today())


def test_end_must_not_be_before_start(cast):
    refused(ApprovalErrorCode.DELEGATION_DATES, user=cast.approver, delegate=cast.second_approver,
            starts_on=today(), ends_on=today() - timedelta(days=1))


def test_inactive_delegate_is_refused(cast):
    cast.second_approver.is_active = False
    cast.second_approver.save()
    refused(ApprovalErrorCode.DELEGATE_INACTIVE, user=cast.approver, delegate=cast.second_approver,
            starts_on=today(), ends_on=today())


def test_a_delegate_cannot_delegate_again_in_an_overlapping_window(cast):
    delegation_create(user=cast.approver, delegate=cast.second_approver,
                      starts_on=today() + timedelta(days=10), ends_on=today() + timedelta(days=20))
    # The delegate tries to pass it on while covering.
    refused(ApprovalErrorCode.DELEGATION_CHAIN, user=cast.second_approver, delegate=cast.admin,
            starts_on=today() + timedelta(days=15), ends_on=today() + timedelta(days=25))
    # Someone picks the absent approver as their delegate in the same window.
    refused(ApprovalErrorCode.DELEGATION_CHAIN, user=cast.admin, delegate=cast.approver,
            starts_on=today() + timedelta(days=5), ends_on=today() + timedelta(days=10))
    # Outside the window the delegate may delegate.
    later = delegation_create(user=cast.second_approver, delegate=cast.admin,
                              starts_on=today() + timedelta(days=21), ends_on=today() + timedelta(days=25))
    assert later.pk


def test_a_second_overlapping_delegation_is_refused(cast):
    delegation_create(user=cast.approver, delegate=cast.second_approver, starts_on=today(), ends_on=today() + timedelta(days=3))
    refused(ApprovalErrorCode.DELEGATION_OVERLAP, user=cast.approver, delegate=cast.admin,
            starts_on=today() + timedelta(days=3), ends_on=today() + timedelta(days=5))
    assert Delegation.objects.count() == 1


def test_open_steps_in_the_window_are_reassigned_on_creation_and_audited(
    cast, single_rule, django_capture_on_commit_callbacks, mailoutbox
):
    invoice = small_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        delegation_create(user=cast.approver, delegate=cast.second_approver, starts_on=today(),
                          ends_on=today() + timedelta(days=7), reason="Holiday")
    step = ApprovalStep.objects.get(invoice=invoice)
    assert (step.approver, step.on_behalf_of, step.state) == (cast.second_approver, cast.approver, S.PENDING)
    event = InvoiceEvent.objects.filter(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL).get()
    assert (event.actor, event.on_behalf_of) == (cast.approver, cast.approver)
    assert event.params["to"] == cast.second_approver.pk
    assert [m.to for m in mailoutbox] == [[cast.second_approver.email]]

    approval_step_decide(step=step, actor=cast.second_approver, decision="approve")
    decision = InvoiceEvent.objects.filter(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL).last()
    assert (decision.actor, decision.on_behalf_of) == (cast.second_approver, cast.approver)
    # The absent approver can no longer decide it.
    with pytest.raises(ApprovalError):
        approval_step_decide(step=step, actor=cast.approver, decision="approve")


def test_new_steps_in_the_window_go_to_the_delegate(cast, single_rule):
    delegation_create(user=cast.approver, delegate=cast.second_approver, starts_on=today(), ends_on=today())
    invoice = small_invoice()
    step = ApprovalStep.objects.get(invoice=invoice)
    assert (step.approver, step.on_behalf_of) == (cast.second_approver, cast.approver)


def test_future_window_leaves_steps_until_it_starts(cast, single_rule):
    invoice = small_invoice()
    delegation_create(user=cast.approver, delegate=cast.second_approver,
                      starts_on=today() + timedelta(days=2), ends_on=today() + timedelta(days=4))
    assert ApprovalStep.objects.get(invoice=invoice).approver == cast.approver
    assert delegations_apply_started(today=today() + timedelta(days=1)) == 0
    assert delegations_apply_started(today=today() + timedelta(days=2)) == 1
    assert ApprovalStep.objects.get(invoice=invoice).approver == cast.second_approver
    assert delegations_apply_started(today=today() + timedelta(days=3)) == 0  # idempotent


def test_step_stays_with_approver_when_the_delegate_edited_the_invoice(cast, single_rule):
    invoice = small_invoice()
    InvoiceEvent.objects.create(invoice=invoice, kind=InvoiceEvent.Kind.FIELD_EDIT, actor=cast.second_approver,
                                message="edited")
    delegation_create(user=cast.approver, delegate=cast.second_approver, starts_on=today(), ends_on=today())
    delegations_apply_started(today=today())  # running again records nothing new
    assert ApprovalStep.objects.get(invoice=invoice).approver == cast.approver
    kept = InvoiceEvent.objects.filter(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL, params__kept=True)
    assert kept.count() == 1
