"""Decisions: who may decide, segregation of duties, levels, reject, approve → ERP outbox, re-route."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from apinvoices.models import FieldSource, Invoice, InvoiceEvent, InvoiceException
from apinvoices.roles import Role
from apinvoices.tests.factories import InvoiceFactory, UserFactory
from approvals.exceptions import ApprovalError, ApprovalErrorCode
from approvals.models import ApprovalRule, ApprovalRuleStep, ApprovalStep
from approvals.services.decisions import (
    approval_step_decide,
    approval_steps_approve_bulk,
    invoice_reroute_after_edit,
)
from approvals.services.routing import NoApproverAvailable, invoice_route
from erp_integration.models import ErpPosting

pytestmark = pytest.mark.django_db
S = ApprovalStep.State


def routed(**kwargs) -> Invoice:
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, **kwargs)
    invoice_route(invoice=invoice, source="test")
    invoice.refresh_from_db()
    return invoice


def big(**kwargs) -> Invoice:
    return routed(net_amount=None, tax_amount=None, total_amount=Decimal("12000.00"), **kwargs)


def small(**kwargs) -> Invoice:
    return routed(net_amount=None, tax_amount=None, total_amount=Decimal("90.00"), **kwargs)


def step_of(invoice, user) -> ApprovalStep:
    return ApprovalStep.objects.get(invoice=invoice, approver=user, state__in=[S.PENDING, S.WAITING])


def test_single_approver_approves_invoice_and_creates_erp_posting(cast, single_rule):
    invoice = small()
    outcome = approval_step_decide(
        step=step_of(invoice, cast.approver), actor=cast.approver, decision="approve",
        ip_address="192.0.2.7", user_agent="pytest-agent",
    )
    invoice.refresh_from_db()
    assert outcome.invoice_approved and invoice.state == Invoice.State.APPROVED
    posting = ErpPosting.objects.get(invoice=invoice)
    assert posting.state == ErpPosting.State.PENDING and posting.created_by == cast.approver
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL)
    assert (event.actor, event.on_behalf_of, event.ip_address, event.user_agent) == (
        cast.approver, None, "192.0.2.7", "pytest-agent"
    )
    assert event.params["via"] == "web" and event.params["decision"] == "approve"
    step = ApprovalStep.objects.get(pk=outcome.step.pk)
    assert (step.state, step.decided_by, step.decided_via) == (S.APPROVED, cast.approver, "web")


def test_someone_else_cannot_decide_and_nothing_changes(cast, single_rule):
    invoice = small()
    step = step_of(invoice, cast.approver)
    for intruder in (cast.second_approver, cast.admin, cast.clerk):
        with pytest.raises(ApprovalError) as err:
            approval_step_decide(step=step, actor=intruder, decision="approve")
        assert err.value.code == ApprovalErrorCode.NOT_APPROVER
    step.refresh_from_db()
    invoice.refresh_from_db()
    assert step.state == S.PENDING and invoice.state == Invoice.State.AWAITING_APPROVAL
    assert not InvoiceEvent.objects.filter(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL).exists()


def test_waiting_step_of_a_later_level_cannot_be_decided(cast, two_level_rule):
    invoice = big()
    with pytest.raises(ApprovalError) as err:
        approval_step_decide(step=step_of(invoice, cast.second_approver), actor=cast.second_approver, decision="approve")
    assert err.value.code == ApprovalErrorCode.STEP_NOT_PENDING


def test_decided_step_cannot_be_decided_again(cast, two_level_rule):
    invoice = big()
    step = step_of(invoice, cast.approver)
    approval_step_decide(step=step, actor=cast.approver, decision="approve")
    with pytest.raises(ApprovalError) as err:
        approval_step_decide(step=step, actor=cast.approver, decision="reject", comment="changed my mind")
    assert err.value.code == ApprovalErrorCode.STEP_NOT_PENDING


def test_segregation_of_duties_is_checked_again_at_decision_time(cast, single_rule):
    """GIVEN an approver who edits the invoice after it was routed to them
    WHEN they try to approve it THEN they are refused and nothing changes."""
    invoice = small()
    InvoiceEvent.objects.create(invoice=invoice, kind=InvoiceEvent.Kind.FIELD_EDIT, actor=cast.approver,
                                message="total_amount changed")
    with pytest.raises(ApprovalError) as err:
        approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="approve")
    assert err.value.code == ApprovalErrorCode.SEGREGATION_OF_DUTIES
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL
    assert not ErpPosting.objects.filter(invoice=invoice).exists()


def test_clerk_correction_recorded_on_a_field_also_blocks_the_approver(cast, single_rule):
    invoice = small()
    invoice.fields.create(name="due_date", value="2026-12-01", confidence=1, source=FieldSource.CLERK,
                          updated_by=cast.approver)
    with pytest.raises(ApprovalError) as err:
        approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="approve")
    assert err.value.code == ApprovalErrorCode.SEGREGATION_OF_DUTIES


def test_reject_needs_a_comment(cast, single_rule):
    invoice = small()
    with pytest.raises(ApprovalError) as err:
        approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="reject", comment="  ")
    assert err.value.code == ApprovalErrorCode.COMMENT_REQUIRED
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL


def test_reject_rejects_invoice_with_reason_and_supersedes_other_open_steps(cast, two_level_rule):
    invoice = big()
    approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="reject",
                         comment="Not our order", via=ApprovalStep.Via.EMAIL)
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.REJECTED
    assert invoice.state_reason == "Not our order"
    states = dict(ApprovalStep.objects.filter(invoice=invoice).values_list("approver__username", "state"))
    assert states == {"approver": S.REJECTED, "approver2": S.SUPERSEDED}
    assert not ErpPosting.objects.filter(invoice=invoice).exists()


def test_level_one_approval_activates_level_two_and_mails_its_approver(
    cast, two_level_rule, django_capture_on_commit_callbacks, mailoutbox
):
    invoice = big()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="approve")
    assert outcome.level_completed and not outcome.invoice_approved
    second = ApprovalStep.objects.get(invoice=invoice, approver=cast.second_approver)
    assert second.state == S.PENDING and second.activated_at is not None
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL
    assert [m.to for m in mailoutbox] == [[cast.second_approver.email]]

    approval_step_decide(step=second, actor=cast.second_approver, decision="approve")
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.APPROVED
    assert ErpPosting.objects.filter(invoice=invoice).count() == 1


def test_group_level_needs_its_required_approvals_then_supersedes_the_rest(cast):
    group = Group.objects.create(name="Finance managers")
    members = [UserFactory(username=f"fm{i}", roles=[Role.APPROVER]) for i in range(3)]
    group.user_set.add(*members)
    rule = ApprovalRule.objects.create(name="Finance EUR", priority=5, currency="EUR", min_amount=Decimal("1000"))
    ApprovalRuleStep.objects.create(rule=rule, level=1, approver_group=group, required_approvals=2)
    invoice = routed(net_amount=None, tax_amount=None, total_amount=Decimal("5000"))
    first = approval_step_decide(step=step_of(invoice, members[0]), actor=members[0], decision="approve")
    assert not first.level_completed
    second = approval_step_decide(step=step_of(invoice, members[1]), actor=members[1], decision="approve")
    assert second.level_completed and second.invoice_approved
    third = ApprovalStep.objects.get(invoice=invoice, approver=members[2])
    assert third.state == S.SUPERSEDED


def test_delegate_decision_is_audited_on_behalf_of_the_absent_approver(cast, single_rule):
    invoice = small()
    step = step_of(invoice, cast.approver)
    ApprovalStep.objects.filter(pk=step.pk).update(approver=cast.second_approver, on_behalf_of=cast.approver)
    approval_step_decide(step=step, actor=cast.second_approver, decision="approve", via=ApprovalStep.Via.EMAIL)
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL)
    assert (event.actor, event.on_behalf_of, event.params["via"]) == (cast.second_approver, cast.approver, "email")
    state_event = InvoiceEvent.objects.get(invoice=invoice, to_state=Invoice.State.APPROVED)
    assert state_event.on_behalf_of == cast.approver


def test_bulk_approves_only_where_the_rule_allows_and_nothing_is_open(cast, single_rule):
    ok = small()
    with_warning = small()
    InvoiceException.objects.create(invoice=with_warning, kind=InvoiceException.Kind.DATES,
                                    severity=InvoiceException.Severity.WARNING, message="Due date in the past")
    not_allowed = big(vendor=ok.vendor)  # default rule: no bulk
    steps = [
        step_of(ok, cast.approver),
        step_of(with_warning, cast.approver),
    ]
    default_step = ApprovalStep.objects.get(invoice=not_allowed, approver=cast.approver)
    result = approval_steps_approve_bulk(step_ids=[s.pk for s in steps] + [default_step.pk], actor=cast.approver)
    assert result.approved == [steps[0].pk]
    assert result.refused == {
        steps[1].pk: ApprovalErrorCode.BULK_NOT_ALLOWED,
        default_step.pk: ApprovalErrorCode.BULK_NOT_ALLOWED,
    }
    ok.refresh_from_db()
    assert ok.state == Invoice.State.APPROVED
    assert ApprovalStep.objects.get(pk=steps[0].pk).decided_via == ApprovalStep.Via.BULK


def test_bulk_cannot_decide_someone_elses_step(cast, single_rule):
    invoice = small()
    result = approval_steps_approve_bulk(step_ids=[step_of(invoice, cast.approver).pk], actor=cast.second_approver)
    assert result.approved == [] and list(result.refused.values()) == [ApprovalErrorCode.NOT_APPROVER]


def test_edit_after_approval_cancels_unsent_posting_and_routes_again(cast, single_rule):
    invoice = small()
    approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="approve")
    rerouted = invoice_reroute_after_edit(invoice=invoice, actor=cast.clerk)
    assert rerouted.state == Invoice.State.AWAITING_APPROVAL
    assert ErpPosting.objects.get(invoice=invoice).state == ErpPosting.State.CANCELLED
    rounds = list(ApprovalStep.objects.filter(invoice=invoice).order_by("round").values_list("round", "state"))
    assert rounds == [(1, S.SUPERSEDED), (2, S.PENDING)]
    # Approving the second round creates a fresh posting (a new idempotency series).
    approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="approve")
    keys = list(ErpPosting.objects.filter(invoice=invoice).order_by("pk").values_list("state", flat=True))
    assert keys == [ErpPosting.State.CANCELLED, ErpPosting.State.PENDING]


def test_edit_during_approval_routes_a_new_round_without_the_editor(cast):
    invoice = routed()  # default rule: every member of the Approver group
    assert set(ApprovalStep.objects.filter(invoice=invoice).values_list("approver__username", flat=True)) == {
        "approver", "approver2"
    }
    InvoiceEvent.objects.create(invoice=invoice, kind=InvoiceEvent.Kind.FIELD_EDIT, actor=cast.approver, message="edit")
    invoice_reroute_after_edit(invoice=invoice, actor=cast.approver)
    current = ApprovalStep.objects.filter(invoice=invoice, round=2)
    assert list(current.values_list("approver__username", "state")) == [("approver2", S.PENDING)]
    assert set(ApprovalStep.objects.filter(invoice=invoice, round=1).values_list("state", flat=True)) == {S.SUPERSEDED}


def test_reroute_that_finds_no_approver_changes_nothing(cast, single_rule):
    invoice = small()
    InvoiceEvent.objects.create(invoice=invoice, kind=InvoiceEvent.Kind.FIELD_EDIT, actor=cast.approver, message="edit")
    with pytest.raises(NoApproverAvailable):
        invoice_reroute_after_edit(invoice=invoice, actor=cast.approver)
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL
    assert ApprovalStep.objects.get(invoice=invoice).state == S.PENDING


def test_reroute_refused_once_the_posting_is_being_sent(cast, single_rule):
    invoice = small()
    approval_step_decide(step=step_of(invoice, cast.approver), actor=cast.approver, decision="approve")
    ErpPosting.objects.filter(invoice=invoice).update(state=ErpPosting.State.SENDING)
    with pytest.raises(ApprovalError) as err:
        invoice_reroute_after_edit(invoice=invoice, actor=cast.clerk)
    assert err.value.code == ApprovalErrorCode.ALREADY_IN_ERP
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.APPROVED
    assert ApprovalStep.objects.get(invoice=invoice).state == S.APPROVED
