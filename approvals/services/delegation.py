"""Out-of-office delegation: an approver names a delegate for a date range."""

from __future__ import annotations

from datetime import date

from auditlog.context import set_actor
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apinvoices.models import InvoiceEvent
from approvals.exceptions import ApprovalError, ApprovalErrorCode
from approvals.models import ApprovalStep, Delegation

S = ApprovalStep.State


def _label(user) -> str:
    return user.get_full_name() or user.get_username()


def _overlapping(qs, starts_on: date, ends_on: date):
    return qs.filter(starts_on__lte=ends_on, ends_on__gte=starts_on)


def delegation_create(
    *, user, delegate, starts_on: date, ends_on: date, reason: str = "", actor=None
) -> Delegation:
    """Record that ``delegate`` approves for ``user`` from ``starts_on`` to ``ends_on`` (inclusive).

    Refuses (``ApprovalError``, nothing changed): delegating to oneself (``delegation_self``),
    an end before the start (``delegation_dates``), an inactive delegate
    (``delegate_inactive``), a second delegation of ``user`` overlapping this one
    (``delegation_overlap``), and chains (``delegation_chain``): a delegate cannot delegate
    again, so ``user`` may not delegate while covering for someone else, and the delegate may
    not be away (delegating) in the same window.

    If the window includes today, ``user``'s open steps are reassigned to the delegate now
    (``on behalf of`` ``user``) with an audit event each, and the delegate is notified of the
    pending ones; routing sends new steps in the window to the delegate. One transaction.
    """
    if delegate is None or user.pk == delegate.pk:
        raise ApprovalError(_("You cannot delegate to yourself."), code=ApprovalErrorCode.DELEGATION_SELF)
    if ends_on < starts_on:
        raise ApprovalError(_("The last day must not be before the first day."), code=ApprovalErrorCode.DELEGATION_DATES)
    if not delegate.is_active:
        raise ApprovalError(_("The delegate's account is not active."), code=ApprovalErrorCode.DELEGATE_INACTIVE)
    actor = actor or user
    with transaction.atomic(), set_actor(actor):
        # Lock both users' rows so two delegations created at once cannot form a chain.
        get_user_model().objects.select_for_update().filter(pk__in=sorted({user.pk, delegate.pk})).order_by("pk").count()
        if _overlapping(Delegation.objects.filter(user=user), starts_on, ends_on).exists():
            raise ApprovalError(
                _("You already have a delegation in these dates."), code=ApprovalErrorCode.DELEGATION_OVERLAP
            )
        if _overlapping(Delegation.objects.filter(delegate=user), starts_on, ends_on).exists():
            raise ApprovalError(
                _("You are standing in for someone in these dates; a delegate cannot delegate again."),
                code=ApprovalErrorCode.DELEGATION_CHAIN,
            )
        if _overlapping(Delegation.objects.filter(user=delegate), starts_on, ends_on).exists():
            raise ApprovalError(
                _("%(name)s is away in these dates and has a delegate of their own.") % {"name": _label(delegate)},
                code=ApprovalErrorCode.DELEGATION_CHAIN,
            )
        delegation = Delegation.objects.create(
            user=user, delegate=delegate, starts_on=starts_on, ends_on=ends_on, reason=reason[:200]
        )
        if starts_on <= timezone.localdate() <= ends_on:
            delegation_apply(delegation=delegation, actor=actor)
    return delegation


def delegation_apply(*, delegation: Delegation, actor=None) -> list[int]:
    """Hand ``delegation.user``'s open steps (pending or waiting) to the delegate.

    MUST run inside a transaction. Idempotent: steps already reassigned are not touched.
    A step stays with its approver when the delegate entered or edited the invoice
    (segregation of duties) or already holds a step at that level. Returns the reassigned
    step ids; pending ones are notified after commit.
    """
    from approvals.services.notifications import approval_steps_notify
    from approvals.services.routing import users_who_handled

    reassigned: list[int] = []
    pending: list[int] = []
    delegate, user = delegation.delegate, delegation.user
    steps = (
        ApprovalStep.objects.select_for_update(of=("self",))
        .filter(approver=user, state__in=(S.PENDING, S.WAITING))
        .select_related("invoice", "invoice__document")
        .order_by("invoice_id", "pk")
    )
    for step in steps:
        invoice = step.invoice
        taken = ApprovalStep.objects.filter(
            invoice=invoice, round=step.round, level=step.level, approver=delegate
        ).exists()
        if taken or delegate.pk in users_who_handled(invoice):
            already_noted = InvoiceEvent.objects.filter(
                invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL,
                params__step_id=step.pk, params__delegation_id=delegation.pk,
            ).exists()
            if already_noted:
                continue
            InvoiceEvent.objects.create(
                invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL, actor=actor, on_behalf_of=user,
                source="" if actor else "delegation",
                message=_("%(user)s is away, but %(delegate)s cannot take this step; it stays with %(user)s.")
                % {"user": _label(user), "delegate": _label(delegate)},
                params={"step_id": step.pk, "delegation_id": delegation.pk, "kept": True},
            )
            continue
        step.on_behalf_of = step.on_behalf_of or user
        step.approver = delegate
        step.save(update_fields=["approver", "on_behalf_of"])
        InvoiceEvent.objects.create(
            invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL, actor=actor, on_behalf_of=user,
            source="" if actor else "delegation",
            message=_("Reassigned from %(user)s to %(delegate)s (out of office until %(until)s).")
            % {"user": _label(user), "delegate": _label(delegate), "until": delegation.ends_on.isoformat()},
            params={"step_id": step.pk, "delegation_id": delegation.pk, "from": user.pk, "to": delegate.pk},
        )
        reassigned.append(step.pk)
        if step.state == S.PENDING:
            pending.append(step.pk)
    approval_steps_notify(step_ids=pending)
    return reassigned


def delegations_apply_started(*, today: date | None = None) -> int:
    """Reassign open steps for every delegation in force today (for windows that began after
    they were created). Idempotent; returns the number of steps reassigned."""
    today = today or timezone.localdate()
    count = 0
    for delegation in Delegation.objects.filter(starts_on__lte=today, ends_on__gte=today).select_related(
        "user", "delegate"
    ).order_by("pk"):
        if not ApprovalStep.objects.filter(
            Q(approver=delegation.user), state__in=(S.PENDING, S.WAITING)
        ).exists():
            continue
        with transaction.atomic():
            count += len(delegation_apply(delegation=delegation))
    return count
