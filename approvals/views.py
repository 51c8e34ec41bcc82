"""Approver pages: my approvals, the decision page, bulk approval, delegation, e-mail links."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apinvoices.forms import client_ip
from apinvoices.selectors import invoice_get_for_detail
from approvals.exceptions import ApprovalError, ApprovalErrorCode
from approvals.forms import BulkApproveForm, DecisionForm, DelegationForm, EmailDecisionForm
from approvals.models import ApprovalStep
from approvals.selectors import (
    approval_steps_for_invoice,
    approval_steps_pending_for_user,
    delegations_for_user,
)
from approvals.services.decisions import approval_step_decide, approval_steps_approve_bulk
from approvals.services.delegation import delegation_create
from approvals.services.links import approval_link_decide, approval_link_resolve


def _require(request, perm: str, obj=None) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]


FORBIDDEN_CODES = {ApprovalErrorCode.NOT_APPROVER, ApprovalErrorCode.SEGREGATION_OF_DUTIES}


@require_safe
def my_approvals(request):
    """The signed-in user's pending steps, oldest due date first; bulk approval where allowed."""
    _require(request, "approvals.view_my_approvals")
    steps = list(approval_steps_pending_for_user(user=request.user))
    for step in steps:
        step.bulk_ok = bool(step.rule and step.rule.allow_bulk_approval and not step.open_exception_count)
    return render(request, "approvals/my_approvals.html", {
        "steps": steps,
        "any_bulk": any(s.bulk_ok for s in steps),
        "nav_current": "approvals",
    })


@require_safe
def step_detail(request, pk: int):
    """One step: the invoice's key facts, original, exceptions, history, and the decision form."""
    step = get_object_or_404(ApprovalStep.objects.select_related("approver", "on_behalf_of", "rule"), pk=pk)
    _require(request, "approvals.view_step", step)
    return render(request, "approvals/step_detail.html", _detail_context(request, step, DecisionForm()))


def _detail_context(request, step, form, error: str = "") -> dict:
    invoice = invoice_get_for_detail(pk=step.invoice_id)
    return {
        "step": step,
        "invoice": invoice,
        "progress": approval_steps_for_invoice(invoice=invoice),
        "form": form,
        "error": error,
        "can_decide": request.user.has_perm("approvals.decide_step", step),
        "can_view_document": request.user.has_perm("apinvoices.view_document", invoice.document),
        "nav_current": "approvals",
    }


@require_POST
def step_decide(request, pk: int):
    """Approve or reject (POST). Serves the decision panel to htmx, a redirect otherwise."""
    step = get_object_or_404(ApprovalStep.objects.select_related("approver", "on_behalf_of", "rule"), pk=pk)
    _require(request, "approvals.view_step", step)
    form = DecisionForm(request.POST)
    error = ""
    outcome = None
    status = 400
    if form.is_valid():
        try:
            outcome = approval_step_decide(
                step=step, actor=request.user, decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"], via=ApprovalStep.Via.WEB,
                ip_address=client_ip(request), user_agent=_user_agent(request),
            )
        except ApprovalError as err:
            error = err.message
            # Not yours to decide is a permission problem; a step decided meanwhile is a conflict.
            status = 403 if err.code in FORBIDDEN_CODES else 409
    else:
        error, status = _("Please choose approve or reject."), 400
    if outcome is not None:
        step.refresh_from_db()
        messages.success(request, _decision_message(outcome))
        if request.htmx:
            # The decision changes the header badge, the progress table and the history as well
            # as the panel: reload the step page (with the message) rather than patch four regions.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("approvals:step", kwargs={"pk": step.pk})
            return response
        return HttpResponseRedirect(reverse("approvals:my_approvals"))
    if request.htmx:
        # 200: htmx swaps only successful responses; the panel itself carries the error.
        step.refresh_from_db()
        return render(request, "approvals/partials/_decision_panel.html", {
            "step": step, "form": form, "error": error,
            "can_decide": request.user.has_perm("approvals.decide_step", step),
        })
    return render(request, "approvals/step_detail.html", _detail_context(request, step, form, error), status=status)


def _decision_message(outcome) -> str:
    number = outcome.invoice.invoice_number or f"#{outcome.invoice.pk}"
    if outcome.invoice_rejected:
        return _("Invoice %(n)s rejected; the AP team sees your comment.") % {"n": number}
    if outcome.invoice_approved:
        return _("Invoice %(n)s approved and queued for posting to the ERP.") % {"n": number}
    if outcome.level_completed:
        return _("Invoice %(n)s approved at your level; it moves on to the next approver.") % {"n": number}
    return _("Your approval of invoice %(n)s is recorded; it still needs other approvals.") % {"n": number}


@require_POST
def bulk_approve(request):
    """Approve the ticked steps that qualify for bulk approval; report the rest."""
    _require(request, "approvals.view_my_approvals")
    own = list(approval_steps_pending_for_user(user=request.user).values_list("pk", flat=True))
    form = BulkApproveForm(request.POST, step_ids=own)
    if not form.is_valid():
        messages.error(request, _("Tick the invoices you want to approve."))
        return HttpResponseRedirect(reverse("approvals:my_approvals"))
    result = approval_steps_approve_bulk(
        step_ids=form.cleaned_data["steps"], actor=request.user,
        ip_address=client_ip(request), user_agent=_user_agent(request),
    )
    if result.approved:
        messages.success(request, _("%(n)d invoice(s) approved.") % {"n": len(result.approved)})
    if result.refused:
        messages.warning(request, _("%(n)d invoice(s) need a look of their own and were not approved.")
                         % {"n": len(result.refused)})
    return HttpResponseRedirect(reverse("approvals:my_approvals"))


@require_http_methods(["GET", "POST"])
def delegation(request):
    """Set an out-of-office delegate; lists current delegations in both directions."""
    _require(request, "approvals.manage_delegation")
    form = DelegationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            delegation_create(
                user=request.user, delegate=form.cleaned_data["delegate"],
                starts_on=form.cleaned_data["starts_on"], ends_on=form.cleaned_data["ends_on"],
                reason=form.cleaned_data["reason"],
            )
        except ApprovalError as err:
            form.add_error(None, err.message)
        else:
            messages.success(request, _("Your delegate is set. Approvals in those dates go to them."))
            return HttpResponseRedirect(reverse("approvals:delegation"))
    return render(request, "approvals/delegation.html", {
        "form": form, **delegations_for_user(user=request.user), "nav_current": "approvals",
    }, status=400 if request.method == "POST" else 200)


# --- E-mail links (no prior login) --------------------------------------------------------------

LINK_PROBLEMS = {
    ApprovalErrorCode.LINK_TAMPERED: (400, _("This link is not valid"),
                                      _("The link is incomplete or was changed. Open the invoice from the "
                                        "e-mail again, or sign in and use “My approvals”.")),
    ApprovalErrorCode.LINK_EXPIRED: (410, _("This link has expired"),
                                     _("Approval links work for a limited time. Sign in and decide from "
                                       "“My approvals”.")),
    ApprovalErrorCode.LINK_USED: (410, _("This link was already used"),
                                  _("Each link works once. Nothing was changed this time.")),
    ApprovalErrorCode.LINK_SUPERSEDED: (410, _("This approval is no longer open"),
                                        _("It was decided elsewhere or the invoice was sent back. Nothing "
                                          "was changed.")),
    ApprovalErrorCode.LINK_FOREIGN: (410, _("This approval was handed to someone else"),
                                     _("The step was reassigned (for example to a delegate), so your link "
                                       "no longer works. Nothing was changed.")),
    ApprovalErrorCode.LINK_OTHER_SESSION: (403, _("This link belongs to another approver"),
                                           _("You are signed in as someone else. A link acts only for the "
                                             "person it was sent to. Nothing was changed.")),
}


def _link_problem(request, err: ApprovalError):
    status, title, hint = LINK_PROBLEMS.get(err.code, (409, _("This approval could not be recorded"), ""))
    step = err.extra.get("step")
    return render(request, "approvals/email_link_problem.html", {
        "code": str(err.code), "title": title, "hint": hint if err.code in LINK_PROBLEMS else err.message,
        "step": step,
    }, status=status)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def email_link(request, signed: str):
    """GET shows what the link would do and changes nothing; its POST (with CSRF) decides as
    the link's approver, once."""
    try:
        link = approval_link_resolve(signed=signed)
        if request.user.is_authenticated and request.user.pk != link.token.approver_id:
            raise ApprovalError("other session", code=ApprovalErrorCode.LINK_OTHER_SESSION)
    except ApprovalError as err:
        return _link_problem(request, err)
    form = EmailDecisionForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            outcome = approval_link_decide(
                signed=signed, comment=form.cleaned_data["comment"],
                ip_address=client_ip(request), user_agent=_user_agent(request),
            )
        except ApprovalError as err:
            if err.code in LINK_PROBLEMS:
                return _link_problem(request, err)
            error = err.message
        else:
            return render(request, "approvals/email_link_done.html", {
                "outcome": outcome, "action": link.action, "message": _decision_message(outcome),
            })
    invoice = link.step.invoice
    from apinvoices.models import InvoiceException

    warnings = list(invoice.exceptions.filter(status=InvoiceException.Status.OPEN).order_by("-severity", "created_at"))
    return render(request, "approvals/email_link_confirm.html", {
        "link": link, "step": link.step, "invoice": invoice, "warnings": warnings, "form": form,
        "error": error,
    }, status=400 if error else 200)
