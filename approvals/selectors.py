"""Reads for the approver pages and the admin preview."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceException
from approvals.models import ApprovalRule, ApprovalStep, Delegation


def approval_steps_pending_for_user(*, user) -> QuerySet[ApprovalStep]:
    """The user's pending steps with invoice, vendor, rule and the open-exception count, in one
    query whatever the number of rows (oldest due date first, undated last)."""
    return (
        ApprovalStep.objects.filter(approver=user, state=ApprovalStep.State.PENDING)
        .select_related("invoice", "invoice__vendor", "rule", "on_behalf_of")
        .annotate(
            open_exception_count=Count(
                "invoice__exceptions", filter=Q(invoice__exceptions__status=InvoiceException.Status.OPEN)
            )
        )
        .order_by("invoice__due_date", "activated_at", "pk")
    )


def approval_steps_for_invoice(*, invoice: Invoice) -> list[ApprovalStep]:
    """Every step of the invoice's latest round, for the progress panel."""
    latest = invoice.approval_steps.order_by("-round").values_list("round", flat=True).first()
    if latest is None:
        return []
    return list(
        invoice.approval_steps.filter(round=latest)
        .select_related("approver", "on_behalf_of", "decided_by")
        .order_by("level", "pk")
    )


def delegations_for_user(*, user) -> dict[str, list[Delegation]]:
    """The user's current and future delegations, both directions."""
    today = timezone.localdate()
    return {
        "mine": list(Delegation.objects.filter(user=user, ends_on__gte=today).select_related("delegate")),
        "covering": list(Delegation.objects.filter(delegate=user, ends_on__gte=today).select_related("user")),
    }


@dataclass(frozen=True)
class RulePreview:
    invoice: Invoice
    rule: ApprovalRule | None
    levels: list[tuple[int, list[str]]]  # (level, approver names after SoD and delegation)
    error: str = ""


def approval_rule_preview(*, invoice: Invoice) -> RulePreview:
    """Which rule would route ``invoice`` now, and whom it would ask, without changing anything."""
    from approvals.services.routing import (
        NoApproverAvailable,
        _approvers_for,
        _delegate_of,
        rule_for_invoice,
        users_who_handled,
    )

    try:
        rule = rule_for_invoice(invoice)
    except NoApproverAvailable as err:
        return RulePreview(invoice=invoice, rule=None, levels=[], error=err.message)
    excluded = users_who_handled(invoice)
    today = timezone.localdate()
    by_level: dict[int, list[str]] = {}
    for rule_step in rule.steps.select_related("approver_user", "approver_group").order_by("level", "pk"):
        names = by_level.setdefault(rule_step.level, [])
        for user in _approvers_for(rule_step, invoice):
            label = user.get_full_name() or user.get_username()
            if user.pk in excluded:
                names.append(f"{label} (excluded: entered or edited the invoice)")
                continue
            delegate = _delegate_of(user, today)
            if delegate is not None and delegate.pk not in excluded:
                names.append(f"{delegate.get_full_name() or delegate.get_username()} (for {label})")
            else:
                names.append(label)
    return RulePreview(invoice=invoice, rule=rule, levels=sorted(by_level.items()))
