"""Routing: the first matching rule turns an invoice into approval steps."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.models import ExtractedField, FieldSource, Invoice, InvoiceEvent, InvoiceException
from apinvoices.states import invoice_transition
from approvals.models import ApprovalRule, ApprovalRuleStep, ApprovalStep, Delegation

User = get_user_model()
OPEN_STEP_STATES = (ApprovalStep.State.WAITING, ApprovalStep.State.PENDING, ApprovalStep.State.APPROVED)


class NoApproverAvailable(ApplicationError):
    code = ErrorCode.VALIDATION


@dataclass(frozen=True)
class RoutingFacts:
    """What rules look at, computed once per invoice."""

    currency: str
    total: object
    vendor_id: int | None
    vendor_category: str
    cost_centre: str
    gl_accounts: frozenset[str]
    has_warnings: bool
    po_backed: bool


def routing_facts(invoice: Invoice) -> RoutingFacts:
    gl_accounts = {invoice.gl_account} | set(invoice.lines.values_list("gl_account", flat=True))
    return RoutingFacts(
        currency=invoice.currency,
        total=invoice.total_amount,
        vendor_id=invoice.vendor_id,
        vendor_category=invoice.vendor.category if invoice.vendor_id else "",
        cost_centre=invoice.cost_centre,
        gl_accounts=frozenset(g for g in gl_accounts if g),
        has_warnings=invoice.exceptions.filter(
            status=InvoiceException.Status.OPEN, severity=InvoiceException.Severity.WARNING
        ).exists(),
        po_backed=bool(invoice.purchase_order_id or invoice.po_number),
    )


def rule_matches(rule: ApprovalRule, facts: RoutingFacts) -> bool:
    if rule.is_default:
        return True
    if rule.currency and rule.currency != facts.currency:
        return False
    if rule.min_amount is not None and (facts.total is None or facts.total < rule.min_amount):
        return False
    if rule.max_amount is not None and (facts.total is None or facts.total >= rule.max_amount):
        return False
    if rule.vendor_id and rule.vendor_id != facts.vendor_id:
        return False
    if rule.vendor_category and rule.vendor_category != facts.vendor_category:
        return False
    if rule.cost_centre and rule.cost_centre != facts.cost_centre:
        return False
    if rule.gl_account and rule.gl_account not in facts.gl_accounts:
        return False
    Flag = ApprovalRule.Flag
    if rule.has_warnings != Flag.ANY and (rule.has_warnings == Flag.YES) != facts.has_warnings:
        return False
    if rule.po_backed != Flag.ANY and (rule.po_backed == Flag.YES) != facts.po_backed:
        return False
    return True


def rule_for_invoice(invoice: Invoice, rules: list[ApprovalRule] | None = None) -> ApprovalRule:
    """The active rule with the lowest priority that matches; the default rule otherwise."""
    facts = routing_facts(invoice)
    candidates = rules if rules is not None else list(
        ApprovalRule.objects.filter(is_active=True).order_by("is_default", "priority", "pk")
    )
    for rule in candidates:
        if rule_matches(rule, facts):
            return rule
    raise NoApproverAvailable("No approval rule matches and no default rule exists.")


def users_who_handled(invoice: Invoice) -> set[int]:
    """Segregation of duties: whoever received or edited the invoice may not approve it."""
    ids = set(
        ExtractedField.objects.filter(invoice=invoice, source=FieldSource.CLERK, updated_by__isnull=False)
        .values_list("updated_by_id", flat=True)
    )
    ids |= set(
        InvoiceEvent.objects.filter(
            invoice=invoice, kind=InvoiceEvent.Kind.FIELD_EDIT, actor__isnull=False
        ).values_list("actor_id", flat=True)
    )
    if invoice.document.received_by_id:
        ids.add(invoice.document.received_by_id)
    return ids


def _approvers_for(rule_step: ApprovalRuleStep, invoice: Invoice) -> list:
    if rule_step.approver_user_id:
        users = [rule_step.approver_user]
    elif rule_step.approver_group_id:
        users = list(User.objects.filter(groups=rule_step.approver_group_id, is_active=True).order_by("pk"))
    else:
        users = [invoice.vendor.owner] if invoice.vendor_id and invoice.vendor.owner_id else []
    return [u for u in users if u.is_active]


def _delegate_of(user, today) -> object | None:
    delegation = (
        Delegation.objects.filter(user=user, starts_on__lte=today, ends_on__gte=today)
        .select_related("delegate")
        .first()
    )
    return delegation.delegate if delegation else None


@transaction.atomic
def invoice_route(*, invoice: Invoice, actor=None, source: str = "") -> Invoice:
    """Create the approval steps of the first matching rule and move the invoice to
    ``awaiting_approval``, in one transaction.

    Earlier open steps (a previous round, e.g. before an edit) are superseded. Users who
    received or edited the invoice are never made approvers; an approver on leave is replaced
    by their delegate (recorded as "on behalf of"). Raises ``NoApproverAvailable`` (and changes
    nothing) when a level would have nobody to approve it.
    """
    invoice = Invoice.objects.select_for_update().select_related("vendor", "document").get(pk=invoice.pk)
    rule = rule_for_invoice(invoice)
    excluded = users_who_handled(invoice)
    if actor is not None:
        excluded.add(actor.pk)
    today = timezone.localdate()
    previous_round = invoice.approval_steps.aggregate(m=Max("round"))["m"] or 0
    invoice.approval_steps.filter(state__in=OPEN_STEP_STATES).update(state=ApprovalStep.State.SUPERSEDED)

    rule_steps = list(rule.steps.select_related("approver_user", "approver_group").order_by("level", "pk"))
    if not rule_steps:
        raise NoApproverAvailable(f"The rule “{rule}” has no approval steps.")
    first_level = rule_steps[0].level
    now = timezone.now()
    steps = []
    for rule_step in rule_steps:
        approvers = [u for u in _approvers_for(rule_step, invoice) if u.pk not in excluded]
        if len(approvers) < rule_step.required_approvals:
            raise NoApproverAvailable(
                f"The rule “{rule}” needs {rule_step.required_approvals} approver(s) at level "
                f"{rule_step.level}, but only {len(approvers)} may approve this invoice."
            )
        for user in approvers:
            delegate = _delegate_of(user, today)
            assignee = delegate if delegate is not None and delegate.pk not in excluded else user
            pending = rule_step.level == first_level
            steps.append(
                ApprovalStep(
                    invoice=invoice,
                    rule=rule,
                    rule_step=rule_step,
                    round=previous_round + 1,
                    level=rule_step.level,
                    approver=assignee,
                    on_behalf_of=user if assignee is not user else None,
                    state=ApprovalStep.State.PENDING if pending else ApprovalStep.State.WAITING,
                    activated_at=now if pending else None,
                )
            )
    # Two rule steps may name the same person at one level: one step is enough.
    unique = {(s.level, s.approver.pk): s for s in steps}
    ApprovalStep.objects.bulk_create(unique.values())
    return invoice_transition(
        invoice=invoice,
        to=Invoice.State.AWAITING_APPROVAL,
        actor=actor,
        source=source or "routing",
        reason=f"Routed by rule “{rule}” to {len(unique)} approver(s).",
        params={"rule_id": rule.pk, "round": previous_round + 1},
    )
