"""ERP pages: the posting outbox, sync from the ERP, payment runs."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from apinvoices.exceptions import ApplicationError
from erp_integration import selectors
from erp_integration.models import ErpPosting, Payment, PaymentRun
from erp_integration.services import payments as payment_services
from erp_integration.services.sending import erp_posting_retry

PAGE_SIZE = 50


def _require(request, perm: str, obj=None) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied


@require_safe
def posting_list(request):
    _require(request, "erp_integration.view_postings")
    state = request.GET.get("state", "")
    if state not in ErpPosting.State.values:
        state = ""
    counts = selectors.posting_state_counts()
    tabs = [{"value": "", "label": _("All"), "count": sum(counts.values()), "active": not state}] + [
        {"value": value, "label": label, "count": counts.get(value, 0), "active": state == value}
        for value, label in ErpPosting.State.choices
    ]
    page = Paginator(selectors.posting_list(state=state), PAGE_SIZE).get_page(request.GET.get("page"))
    for posting in page.object_list:
        posting.advice = selectors.ERROR_ADVICE.get(posting.last_error_code, "")
    return render(request, "erp_integration/posting_list.html", {
        "page": page, "tabs": tabs, "state": state,
        "can_retry": request.user.has_perm("erp_integration.retry_posting"),
        "can_sync": request.user.has_perm("erp_integration.sync_erp"),
    })


@require_safe
def posting_detail(request, pk: int):
    try:
        posting = selectors.posting_detail(pk=pk)
    except ErpPosting.DoesNotExist:
        raise Http404("No such ERP posting.") from None
    _require(request, "erp_integration.view_postings", posting)
    return render(request, "erp_integration/posting_detail.html", {
        "posting": posting,
        "invoice": posting.invoice,
        "attempts": selectors.posting_attempts(posting=posting),
        "advice": selectors.ERROR_ADVICE.get(posting.last_error_code, ""),
        "can_retry": posting.state == ErpPosting.State.FAILED
                     and request.user.has_perm("erp_integration.retry_posting", posting),
    })


@require_POST
def posting_retry(request, pk: int):
    posting = get_object_or_404(ErpPosting, pk=pk)
    _require(request, "erp_integration.retry_posting", posting)
    try:
        erp_posting_retry(posting=posting, actor=request.user)
    except ApplicationError as err:
        messages.error(request, str(err))
    else:
        posting.refresh_from_db()
        if posting.state == ErpPosting.State.POSTED:
            messages.success(request, _("Posted to the ERP as %(id)s.") % {"id": posting.erp_number or posting.erp_id})
        elif posting.state == ErpPosting.State.FAILED:
            messages.warning(request, _("The ERP refused again: %(msg)s") % {"msg": posting.last_error})
        else:
            messages.success(request, _("Retry queued."))
    return HttpResponseRedirect(request.POST.get("next") if _safe_next(request) else reverse("erp_integration:posting_list"))


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or ""
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})


@require_POST
def erp_sync(request):
    _require(request, "erp_integration.sync_erp")
    from erp_integration.backends.base import ErpError
    from erp_integration.services.sync import erp_sync_all

    try:
        result = erp_sync_all(actor=request.user)
    except ErpError as err:
        messages.error(request, _("Sync from the ERP failed (%(code)s): %(msg)s") % {"code": err.code, "msg": err.message})
    else:
        messages.success(request, str(result))
    return HttpResponseRedirect(reverse("erp_integration:posting_list"))


# --- payment runs ----------------------------------------------------------------------------


class PaymentRunForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    file_format = forms.ChoiceField(choices=PaymentRun.FileFormat.choices)
    currency = forms.ChoiceField(choices=[("EUR", "EUR"), ("USD", "USD")])
    debtor_account = forms.CharField(max_length=34, label="Pay from (our IBAN or account)")
    due_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    execution_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


@require_safe
def payment_run_list(request):
    _require(request, "erp_integration.view_paymentrun")
    today = timezone.localdate()
    runs = PaymentRun.objects.select_related("created_by", "approved_by").order_by("-created_at")[:200]
    return render(request, "erp_integration/payment_run_list.html", {
        "runs": runs,
        "form": PaymentRunForm(initial={"due_until": today, "execution_date": today, "currency": "EUR",
                                        "file_format": PaymentRun.FileFormat.SEPA_09}),
        "can_propose": request.user.has_perm("erp_integration.add_paymentrun"),
        "can_import": request.user.has_perm("erp_integration.import_bank_statement"),
    })


@require_POST
def payment_run_create(request):
    _require(request, "erp_integration.add_paymentrun")
    form = PaymentRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The proposal was not created: %(errors)s") % {
            "errors": "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())})
        return HttpResponseRedirect(reverse("erp_integration:payment_run_list"))
    try:
        proposal = payment_services.payment_run_propose(actor=request.user, **form.cleaned_data)
    except ApplicationError as err:
        messages.error(request, err.message)
        return HttpResponseRedirect(reverse("erp_integration:payment_run_list"))
    messages.success(request, _("Proposed %(n)s payments; %(x)s invoices could not be included.") % {
        "n": proposal.run.payments.count(), "x": len(proposal.excluded)})
    return HttpResponseRedirect(reverse("erp_integration:payment_run_detail", args=[proposal.run.pk]))


@require_safe
def payment_run_detail(request, pk: int):
    run = get_object_or_404(PaymentRun.objects.select_related("created_by", "approved_by"), pk=pk)
    _require(request, "erp_integration.view_paymentrun", run)
    payments = list(run.payments.select_related("invoice", "invoice__vendor", "bank_account"))
    live = [p for p in payments if p.state != Payment.State.CANCELLED]
    return render(request, "erp_integration/payment_run_detail.html", {
        "run": run, "payments": payments,
        "total": sum((p.amount for p in live), 0), "discounts": sum((p.discount_amount for p in live), 0),
        "excluded": payment_services.payment_run_exclusions(run),
        "can_change": request.user.has_perm("erp_integration.change_paymentrun", run) and run.state == PaymentRun.State.DRAFT,
        "can_approve": request.user.has_perm("erp_integration.approve_paymentrun", run)
                       and run.state in (PaymentRun.State.DRAFT, PaymentRun.State.APPROVED),
        "own_run": run.created_by_id == request.user.pk,
        "can_download": request.user.has_perm("erp_integration.download_payment_file", run) and bool(run.file),
    })


@require_POST
def payment_remove(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    _require(request, "erp_integration.change_paymentrun", payment.run)
    try:
        payment_services.payment_remove(payment=payment, actor=request.user)
    except ApplicationError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Removed %(inv)s from the run.") % {"inv": payment.invoice})
    return HttpResponseRedirect(reverse("erp_integration:payment_run_detail", args=[payment.run_id]))


@require_POST
def payment_run_approve(request, pk: int):
    """Approve (a second person) and export the bank file in one step; an approved run whose
    export failed is exported again by the same button."""
    run = get_object_or_404(PaymentRun, pk=pk)
    _require(request, "erp_integration.approve_paymentrun", run)
    try:
        if run.state == PaymentRun.State.DRAFT:
            run = payment_services.payment_run_approve(run=run, actor=request.user)
        run = payment_services.payment_run_export(run=run, actor=request.user)
    except ApplicationError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Approved and exported: download the bank file below."))
    return HttpResponseRedirect(reverse("erp_integration:payment_run_detail", args=[run.pk]))


@require_safe
def payment_run_download(request, pk: int):
    run = get_object_or_404(PaymentRun, pk=pk)
    _require(request, "erp_integration.download_payment_file", run)
    if not run.file:
        raise Http404("This run has no bank file yet.")
    name = run.file.name.rsplit("/", 1)[-1]
    content_type = "application/xml" if name.endswith(".xml") else "text/plain"
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=name, content_type=content_type)


@require_POST
def camt054_upload(request):
    _require(request, "erp_integration.import_bank_statement")
    upload = request.FILES.get("statement")
    if upload is None:
        messages.error(request, _("Choose a camt.054 file to import."))
    elif upload.size > 20 * 1024 * 1024:
        messages.error(request, _("The file is larger than 20 MB."))
    else:
        try:
            result = payment_services.camt054_import(data=upload.read(), actor=request.user)
        except ApplicationError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, str(result))
    return HttpResponseRedirect(reverse("erp_integration:payment_run_list"))
