"""Reminders once after N hours, escalation after M days, both idempotent; the schedule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.tests.factories import InvoiceFactory
from approvals import tasks
from approvals.models import ApprovalStep
from approvals.schedules import REMIND_AND_ESCALATE, ensure_schedules
from approvals.services.decisions import approval_step_decide
from approvals.services.reminders import approval_steps_escalate, approval_steps_remind
from approvals.services.routing import invoice_route

pytestmark = pytest.mark.django_db
S = ApprovalStep.State


@pytest.fixture(autouse=True)
def _periods(settings):
    settings.AP_APPROVAL_REMIND_AFTER_HOURS = 24
    settings.AP_APPROVAL_ESCALATE_AFTER_DAYS = 3


def pending_step(*, age: timedelta) -> ApprovalStep:
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, net_amount=None, tax_amount=None,
                             total_amount=Decimal("80.00"))
    invoice_route(invoice=invoice, source="test")
    step = ApprovalStep.objects.get(invoice=invoice)
    ApprovalStep.objects.filter(pk=step.pk).update(activated_at=timezone.now() - age)
    step.refresh_from_db()
    return step


def test_reminds_once_after_the_configured_hours(cast, single_rule, django_capture_on_commit_callbacks, mailoutbox):
    old = pending_step(age=timedelta(hours=25))
    fresh = pending_step(age=timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert approval_steps_remind() == [old.pk]
    assert len(mailoutbox) == 1 and mailoutbox[0].subject.startswith("Reminder: ")
    with django_capture_on_commit_callbacks(execute=True):
        assert approval_steps_remind() == []
        assert approval_steps_remind(now=timezone.now() + timedelta(days=2)) == [fresh.pk]
    assert len(mailoutbox) == 2
    old.refresh_from_db()
    assert old.reminded_at is not None


def test_escalates_after_the_configured_days_on_behalf_of_the_approver(
    cast, single_rule, django_capture_on_commit_callbacks, mailoutbox
):
    step = pending_step(age=timedelta(days=4))
    with django_capture_on_commit_callbacks(execute=True):
        created, skipped = approval_steps_escalate()
    assert skipped == []
    new = ApprovalStep.objects.get(pk=created[0])
    assert (new.approver, new.on_behalf_of, new.state, new.level) == (cast.admin, cast.approver, S.PENDING, step.level)
    step.refresh_from_db()
    assert step.state == S.PENDING and step.escalated_at is not None
    event = InvoiceEvent.objects.get(invoice=step.invoice, kind=InvoiceEvent.Kind.APPROVAL)
    assert event.source == "task:remind_and_escalate" and event.on_behalf_of == cast.approver
    assert event.params["escalation_step_id"] == new.pk
    assert [m.to for m in mailoutbox] == [[cast.admin.email]]
    assert mailoutbox[0].subject.startswith("Escalated: ")
    # Idempotent: nothing new on the next runs, not even for the escalation step later on.
    assert approval_steps_escalate() == ([], [])
    assert approval_steps_escalate(now=timezone.now() + timedelta(days=10)) == ([], [])
    assert ApprovalStep.objects.filter(invoice=step.invoice).count() == 2


def test_escalation_user_decision_counts_for_the_original_approver(cast, single_rule):
    step = pending_step(age=timedelta(days=4))
    created, _skipped = approval_steps_escalate()
    outcome = approval_step_decide(step=ApprovalStep.objects.get(pk=created[0]), actor=cast.admin, decision="approve")
    assert outcome.invoice_approved
    step.refresh_from_db()
    assert step.state == S.SUPERSEDED


def test_original_approver_can_still_decide_after_escalation(cast, single_rule):
    step = pending_step(age=timedelta(days=4))
    created, _skipped = approval_steps_escalate()
    approval_step_decide(step=step, actor=cast.approver, decision="approve")
    assert ApprovalStep.objects.get(pk=created[0]).state == S.SUPERSEDED


def test_no_escalation_without_an_escalation_user(cast, single_rule):
    single_rule.escalation_user = None
    single_rule.save()
    pending_step(age=timedelta(days=10))
    assert approval_steps_escalate() == ([], [])


def test_escalation_user_who_edited_the_invoice_is_not_used_and_that_is_recorded_once(cast, single_rule):
    step = pending_step(age=timedelta(days=4))
    InvoiceEvent.objects.create(invoice=step.invoice, kind=InvoiceEvent.Kind.FIELD_EDIT, actor=cast.admin, message="edit")
    assert approval_steps_escalate() == ([], [step.pk])
    assert approval_steps_escalate() == ([], [])
    assert ApprovalStep.objects.filter(invoice=step.invoice).count() == 1
    assert InvoiceEvent.objects.filter(invoice=step.invoice, source="task:remind_and_escalate").count() == 1


def test_task_entry_point_reminds_and_escalates(cast, single_rule, settings):
    pending_step(age=timedelta(days=4))
    result = tasks.remind_and_escalate()
    assert result == {"reminded": 1, "escalated": 1, "skipped": 0}
    assert tasks.remind_and_escalate() == {"reminded": 0, "escalated": 0, "skipped": 0}


def test_ensure_schedules_is_idempotent(db):
    ensure_schedules()
    ensure_schedules()
    schedule = Schedule.objects.get(name=REMIND_AND_ESCALATE)
    assert schedule.func == "approvals.tasks.remind_and_escalate"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.repeats == -1
