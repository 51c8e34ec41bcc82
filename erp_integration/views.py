"""ERP pages: the posting outbox, sync from the ERP, payment runs."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from apinvoices.exceptions import ApplicationError
from erp_integration import selectors
from erp_integration.models import ErpPosting
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
