"""Approver decisions: approve or reject a step, complete levels, approve the invoice.

Every step state change goes through ``locked_transition`` with ``APPROVAL_STEP_MACHINE``
inside a transaction; every decision writes an ``InvoiceEvent`` of kind ``approval``.
Lock order is always invoice row first, then step rows by primary key, so two approvers
deciding the same invoice at once serialise instead of deadlocking.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from auditlog.context import set_actor
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.states import locked_transition
from approvals.exceptions import ApprovalError, ApprovalErrorCode
from approvals.models import ApprovalStep
from approvals.states import APPROVAL_STEP_MACHINE

S = ApprovalStep.State
OPEN_STATES = (S.WAITING, S.PENDING)


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def _user_label(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def approval_step_supersede(*, step: ApprovalStep, reason: str) -> ApprovalStep:
    """Move one step to ``superseded`` through the step machine. MUST run inside a transaction.

    Tokens of the step stop working because the link check requires a pending step.
    """
    fresh, _previous = locked_transition(machine=APPROVAL_STEP_MACHINE, instance=step, target=S.SUPERSEDED)
    return fresh


def _supersede_open_steps(*, invoice: Invoice, round_no: int | None = None, level: int | None = None,
                          exclude_pk: int | None = None, states=OPEN_STATES, reason: str) -> list[int]:
    qs = ApprovalStep.objects.filter(invoice=invoice, state__in=states).order_by("pk")
    if round_no is not None:
        qs = qs.filter(round=round_no)
    if level is not None:
        qs = qs.filter(level=level)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    ids = []
    for step in qs:
        approval_step_supersede(step=step, reason=reason)
        ids.append(step.pk)
    return ids


def _principal_id(step: ApprovalStep) -> int:
    """The person a step stands for: the absent approver for a delegated or escalated step."""
    return step.on_behalf_of_id or step.approver_id


def level_is_complete(*, invoice: Invoice, round_no: int, level: int) -> bool:
    """True when every rule step of the level has its required approvals.

    Approvals are counted per principal, so an approver and the person escalated to on their
    behalf count once. A rule step that has fewer principals than it requires (routing removed
    someone for segregation of duties, or two rule steps named the same person) needs all of them.
    """
    steps = ApprovalStep.objects.filter(invoice=invoice, round=round_no, level=level).select_related("rule_step")
    principals: dict[int | None, set[int]] = defaultdict(set)
    approved: dict[int | None, set[int]] = defaultdict(set)
    required: dict[int | None, int] = {}
    for step in steps:
        key = step.rule_step_id
        required[key] = step.rule_step.required_approvals if step.rule_step_id else 1
        if step.state != S.SUPERSEDED or step.decided_at is not None:
            principals[key].add(_principal_id(step))
        if step.state == S.APPROVED:
            approved[key].add(_principal_id(step))
    if not required:
        return False
    return all(len(approved[key]) >= min(required[key], max(len(principals[key]), 1)) for key in required)


@dataclass
class DecisionOutcome:
    step: ApprovalStep
    invoice: Invoice
    level_completed: bool = False
    invoice_approved: bool = False
    invoice_rejected: bool = False
    activated_step_ids: list[int] = field(default_factory=list)


def approval_step_decide(
    *,
    step: ApprovalStep,
    actor,
    decision: str,
    comment: str = "",
    via: str = ApprovalStep.Via.WEB,
    ip_address: str | None = None,
    user_agent: str = "",
) -> DecisionOutcome:
    """Record ``actor``'s decision on a pending step, in one transaction.

    Guarantees:
    - only the step's approver decides (a delegate is the approver, with ``on_behalf_of`` set);
      anyone else gets ``not_approver``; a step that is not pending gives ``step_not_pending``;
    - segregation of duties is re-checked now: someone who received or edited the invoice
      gets ``segregation_of_duties``, even if they were an approver when it was routed;
    - reject needs a comment (``comment_required``), rejects the invoice with that reason and
      supersedes every other open step;
    - approve: when the level has its required approvals, the level's other open steps are
      superseded and the next level's steps become pending (their approvers are notified
      after commit); when the last level completes, the invoice is approved and its ERP
      posting row created in this same transaction;
    - one ``InvoiceEvent`` (kind ``approval``) names who, on behalf of whom, via what, when,
      IP address and user agent.
    Raises ``ApprovalError`` and changes nothing on any refusal.
    """
    from approvals.services.notifications import approval_steps_notify
    from approvals.services.routing import users_who_handled

    if decision not in (Decision.APPROVE, Decision.REJECT):
        raise ApprovalError(_("Unknown decision."), code=ApprovalErrorCode.UNKNOWN_DECISION)
    comment = (comment or "").strip()
    if decision == Decision.REJECT and not comment:
        raise ApprovalError(
            _("Please say why you reject the invoice; the clerk sees your comment."),
            code=ApprovalErrorCode.COMMENT_REQUIRED,
        )
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise ApprovalError(_("Only the assigned approver can decide this step."), code=ApprovalErrorCode.NOT_APPROVER)

    with transaction.atomic(), set_actor(actor):
        invoice = Invoice.objects.select_for_update().select_related("document").get(pk=step.invoice_id)
        step = ApprovalStep.objects.select_for_update(of=("self",)).select_related("on_behalf_of").get(pk=step.pk)
        if step.approver_id != actor.pk:
            raise ApprovalError(
                _("Only the assigned approver can decide this step."), code=ApprovalErrorCode.NOT_APPROVER
            )
        if step.state != S.PENDING:
            raise ApprovalError(
                _("This approval step is no longer open (it is “%(state)s”).") % {"state": step.get_state_display()},
                code=ApprovalErrorCode.STEP_NOT_PENDING,
                extra={"state": step.state},
            )
        if invoice.state != Invoice.State.AWAITING_APPROVAL:
            raise ApprovalError(
                _("The invoice is not awaiting approval any more."), code=ApprovalErrorCode.INVOICE_NOT_IN_APPROVAL
            )
        if actor.pk in users_who_handled(invoice):
            raise ApprovalError(
                _("You entered or edited this invoice, so someone else must approve it."),
                code=ApprovalErrorCode.SEGREGATION_OF_DUTIES,
            )

        now = timezone.now()
        target = S.APPROVED if decision == Decision.APPROVE else S.REJECTED
        step, _previous = locked_transition(
            machine=APPROVAL_STEP_MACHINE,
            instance=step,
            target=target,
            extra_updates={
                "decided_by": actor,
                "decided_at": now,
                "decided_via": via,
                "comment": comment,
                "ip_address": ip_address or None,
                "user_agent": (user_agent or "")[:300],
            },
        )
        behalf = step.on_behalf_of
        verb = _("approved") if target == S.APPROVED else _("rejected")
        message = _("%(who)s %(verb)s (level %(level)s) via %(via)s") % {
            "who": _user_label(actor), "verb": verb, "level": step.level, "via": ApprovalStep.Via(via).label,
        }
        if behalf is not None:
            message += _(" on behalf of %(whom)s") % {"whom": _user_label(behalf)}
        if comment:
            message += f": {comment}"
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.APPROVAL,
            actor=actor,
            on_behalf_of=behalf,
            message=message,
            params={"step_id": step.pk, "decision": str(decision), "via": str(via), "round": step.round,
                    "level": step.level, "decided_at": now.isoformat()},
            ip_address=ip_address or None,
            user_agent=(user_agent or "")[:300],
            created_at=now,
        )
        outcome = DecisionOutcome(step=step, invoice=invoice)

        if target == S.REJECTED:
            _supersede_open_steps(invoice=invoice, round_no=step.round, reason="invoice rejected")
            from apinvoices.states import invoice_transition

            outcome.invoice = invoice_transition(
                invoice=invoice, to=Invoice.State.REJECTED, actor=actor, on_behalf_of=behalf,
                reason=comment, params={"step_id": step.pk, "via": str(via)},
                ip_address=ip_address, user_agent=user_agent or "",
            )
            outcome.invoice_rejected = True
            return outcome

        # The approver and whoever was escalated to on their behalf stand for one person.
        principal = _principal_id(step)
        for twin in ApprovalStep.objects.filter(
            invoice=invoice, round=step.round, level=step.level, state=S.PENDING
        ).exclude(pk=step.pk).order_by("pk"):
            if _principal_id(twin) == principal:
                approval_step_supersede(step=twin, reason="decided by twin")

        if not level_is_complete(invoice=invoice, round_no=step.round, level=step.level):
            return outcome
        outcome.level_completed = True
        _supersede_open_steps(invoice=invoice, round_no=step.round, level=step.level, states=(S.PENDING,),
                              reason="level complete")
        next_level = (
            ApprovalStep.objects.filter(invoice=invoice, round=step.round, state=S.WAITING, level__gt=step.level)
            .order_by("level").values_list("level", flat=True).first()
        )
        if next_level is not None:
            for waiting in ApprovalStep.objects.filter(
                invoice=invoice, round=step.round, level=next_level, state=S.WAITING
            ).order_by("pk"):
                locked_transition(machine=APPROVAL_STEP_MACHINE, instance=waiting, target=S.PENDING,
                                  extra_updates={"activated_at": now})
                outcome.activated_step_ids.append(waiting.pk)
            approval_steps_notify(step_ids=outcome.activated_step_ids)
            return outcome

        from apinvoices.states import invoice_transition
        from erp_integration.services.outbox import erp_posting_create

        outcome.invoice = invoice_transition(
            invoice=invoice, to=Invoice.State.APPROVED, actor=actor, on_behalf_of=behalf,
            reason=_("All approval levels complete."), params={"step_id": step.pk, "via": str(via)},
            ip_address=ip_address, user_agent=user_agent or "",
        )
        erp_posting_create(invoice=outcome.invoice, actor=actor)
        outcome.invoice_approved = True
        return outcome


@dataclass
class BulkResult:
    approved: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # step id -> error code


def approval_steps_approve_bulk(
    *, step_ids: list[int], actor, ip_address: str | None = None, user_agent: str = ""
) -> BulkResult:
    """Approve several of ``actor``'s pending steps at once, each in its own transaction.

    Only steps whose rule allows bulk approval and whose invoice has no open exception qualify
    (anything with a warning deserves its own look); others are refused with
    ``bulk_not_allowed``. One refusal never undoes the others.
    """
    from apinvoices.models import InvoiceException

    result = BulkResult()
    steps = (
        ApprovalStep.objects.filter(pk__in=step_ids)
        .select_related("rule")
        .order_by("invoice_id", "pk")
    )
    with_open_exceptions = set(
        InvoiceException.objects.filter(
            invoice__approval_steps__pk__in=step_ids, status=InvoiceException.Status.OPEN
        ).values_list("invoice_id", flat=True)
    )
    for step in steps:
        if step.rule is None or not step.rule.allow_bulk_approval or step.invoice_id in with_open_exceptions:
            result.refused[step.pk] = ApprovalErrorCode.BULK_NOT_ALLOWED
            continue
        try:
            approval_step_decide(step=step, actor=actor, decision=Decision.APPROVE, via=ApprovalStep.Via.BULK,
                                 ip_address=ip_address, user_agent=user_agent)
        except ApprovalError as err:
            result.refused[step.pk] = err.code
        else:
            result.approved.append(step.pk)
    return result


def invoice_reroute_after_edit(invoice: Invoice, actor, *, reason: str = "") -> Invoice:
    """Send an invoice edited during or after approval through approval again, in one transaction.

    Supersedes every open or approved step, cancels an ERP posting that has not been sent
    (pending or failed), and routes the invoice afresh (new round; the editor is never an
    approver). Raises ``ApprovalError`` ``already_in_erp`` when the posting is being sent or
    was posted, and ``cannot_reroute`` for an invoice that is not in approval or approved.
    """
    from apinvoices.states import invoice_transition
    from approvals.services.routing import invoice_route
    from erp_integration.models import ErpPosting
    from erp_integration.states import ERP_POSTING_MACHINE

    reason = reason or _("Edited after approval; routed again.")
    with transaction.atomic(), set_actor(actor):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.state not in (Invoice.State.AWAITING_APPROVAL, Invoice.State.APPROVED):
            raise ApprovalError(
                _("Only an invoice in approval or approved can be routed again."),
                code=ApprovalErrorCode.CANNOT_REROUTE, extra={"state": invoice.state},
            )
        for posting in ErpPosting.objects.filter(invoice=invoice).exclude(state=ErpPosting.State.CANCELLED).order_by("pk"):
            if posting.state not in (ErpPosting.State.PENDING, ErpPosting.State.FAILED):
                raise ApprovalError(
                    _("The invoice is already being sent to the ERP; correct it there."),
                    code=ApprovalErrorCode.ALREADY_IN_ERP, extra={"posting_id": posting.pk},
                )
            locked_transition(machine=ERP_POSTING_MACHINE, instance=posting, target=ErpPosting.State.CANCELLED)
            InvoiceEvent.objects.create(
                invoice=invoice, kind=InvoiceEvent.Kind.POSTING, actor=actor,
                message=_("Posting cancelled before sending: the invoice was edited."),
                params={"posting_id": posting.pk},
            )
        superseded = _supersede_open_steps(invoice=invoice, states=(S.WAITING, S.PENDING, S.APPROVED),
                                           reason="edited")
        InvoiceEvent.objects.create(
            invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL, actor=actor, message=reason,
            params={"superseded_step_ids": superseded},
        )
        # The table has no awaiting→awaiting move: go through review so the timeline shows it.
        invoice_transition(invoice=invoice, to=Invoice.State.NEEDS_REVIEW, actor=actor, reason=reason)
        return invoice_route(invoice=invoice, actor=actor)
