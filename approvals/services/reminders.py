"""Reminders and escalation of approval steps that wait too long."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from apinvoices.models import InvoiceEvent
from approvals.models import ApprovalStep

S = ApprovalStep.State
SOURCE = "task:remind_and_escalate"


@dataclass
class ReminderRun:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)  # the new steps
    skipped: list[int] = field(default_factory=list)  # original steps that could not escalate


def _label(user) -> str:
    return user.get_full_name() or user.get_username()


def _waiting_since():
    return Coalesce("activated_at", "created_at")


def approval_steps_remind(*, now: datetime | None = None) -> list[int]:
    """Send one reminder per pending step older than ``AP_APPROVAL_REMIND_AFTER_HOURS``.

    Idempotent: ``reminded_at`` is set in the same transaction that queues the e-mail (after
    commit), so a step is reminded at most once however often this runs.
    """
    from approvals.services.notifications import Kind, approval_steps_notify

    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.AP_APPROVAL_REMIND_AFTER_HOURS)
    reminded: list[int] = []
    with transaction.atomic():
        due = list(
            ApprovalStep.objects.select_for_update()
            .annotate(since=_waiting_since())
            .filter(state=S.PENDING, reminded_at__isnull=True, since__lte=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if due:
            ApprovalStep.objects.filter(pk__in=due, reminded_at__isnull=True).update(reminded_at=now)
            approval_steps_notify(step_ids=due, kind=Kind.REMINDER)
            reminded = due
    return reminded


def approval_steps_escalate(*, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Escalate pending steps older than ``AP_APPROVAL_ESCALATE_AFTER_DAYS`` to the rule's
    escalation user: a new pending step on behalf of the original approver (the original stays
    open; whichever of the two decides first counts for that person), audited on the invoice.

    Idempotent: ``escalated_at`` marks a step as handled, and escalation steps themselves are
    never escalated again. A step cannot escalate when the escalation user already holds a step
    at that level or entered/edited the invoice; that is recorded once, on the timeline.
    Returns (new step ids, original step ids that could not escalate).
    """
    from approvals.services.notifications import Kind, approval_steps_notify
    from approvals.services.routing import users_who_handled

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AP_APPROVAL_ESCALATE_AFTER_DAYS)
    created: list[int] = []
    skipped: list[int] = []
    candidates = list(
        ApprovalStep.objects.annotate(since=_waiting_since())
        .filter(state=S.PENDING, escalated_at__isnull=True, since__lte=cutoff,
                rule__escalation_user__isnull=False)
        .exclude(approver=F("rule__escalation_user"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in candidates:
        with transaction.atomic():
            step = (
                ApprovalStep.objects.select_for_update(of=("self",))
                .select_related("rule__escalation_user", "approver", "on_behalf_of", "invoice__document")
                .get(pk=pk)
            )
            if step.state != S.PENDING or step.escalated_at is not None:
                continue
            target = step.rule.escalation_user
            principal = step.on_behalf_of or step.approver
            ApprovalStep.objects.filter(pk=step.pk).update(escalated_at=now)
            blocked = ""
            if not target.is_active:
                blocked = _("the escalation user is inactive")
            elif target.pk in users_who_handled(step.invoice):
                blocked = _("the escalation user entered or edited this invoice")
            elif ApprovalStep.objects.filter(invoice=step.invoice, round=step.round, level=step.level,
                                             approver=target).exists():
                blocked = _("the escalation user already approves at this level")
            if blocked:
                InvoiceEvent.objects.create(
                    invoice=step.invoice, kind=InvoiceEvent.Kind.APPROVAL, source=SOURCE, on_behalf_of=principal,
                    message=_("Could not escalate %(who)s's step: %(why)s.") % {"who": _label(principal), "why": blocked},
                    params={"step_id": step.pk, "escalation_user": target.pk},
                )
                skipped.append(step.pk)
                continue
            try:
                with transaction.atomic():
                    new = ApprovalStep.objects.create(
                        invoice=step.invoice, rule=step.rule, rule_step=step.rule_step, round=step.round,
                        level=step.level, approver=target, on_behalf_of=principal, state=S.PENDING,
                        created_at=now, activated_at=now, escalated_at=now,
                    )
            except IntegrityError:
                skipped.append(step.pk)
                continue
            days = settings.AP_APPROVAL_ESCALATE_AFTER_DAYS
            InvoiceEvent.objects.create(
                invoice=step.invoice, kind=InvoiceEvent.Kind.APPROVAL, source=SOURCE, on_behalf_of=principal,
                message=_("Escalated to %(target)s on behalf of %(who)s: no decision after %(days)s day(s).")
                % {"target": _label(target), "who": _label(principal), "days": days},
                params={"step_id": step.pk, "escalation_step_id": new.pk, "escalation_user": target.pk},
            )
            approval_steps_notify(step_ids=[new.pk], kind=Kind.ESCALATION)
            created.append(new.pk)
    return created, skipped


def approval_steps_remind_and_escalate(*, now: datetime | None = None) -> ReminderRun:
    """The scheduled job: apply delegations that began today, remind, escalate. Idempotent."""
    from approvals.services.delegation import delegations_apply_started

    now = now or timezone.now()
    delegations_apply_started(today=timezone.localdate(now))
    run = ReminderRun()
    run.reminded = approval_steps_remind(now=now)
    run.escalated, run.skipped = approval_steps_escalate(now=now)
    return run
