"""Review screen actions, page images, the exception queue and the vendor pages (STYLE.md §1)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.models import Document, Invoice, InvoiceException, Vendor, VendorBankAccount
from apinvoices.selectors import (
    EXCEPTION_AGES,
    EXCEPTION_SCOPES,
    clerk_queue_next,
    exception_counts_by_kind,
    exception_list_open,
    invoice_get_for_detail,
    vendor_account_history,
    vendor_get_for_detail,
    vendor_list_with_counts,
)
from apinvoices.services.previews import document_page_png
from apinvoices.services.review import (
    LINE_COLUMNS,
    REVIEW_FIELDS,
    TAX_COLUMNS,
    invoice_exception_dismiss,
    invoice_exception_resolve,
    invoice_field_pick_word,
    invoice_line_add,
    invoice_line_delete,
    invoice_line_update,
    invoice_mark_duplicate,
    invoice_send_to_approval,
    invoice_tax_add,
    invoice_tax_delete,
    invoice_tax_update,
    invoice_update_field,
)
from apinvoices.services.vendors import bank_account_reject, bank_account_verify

EXCEPTION_PAGE_SIZE = 50
VENDOR_PAGE_SIZE = 50
# The event the review page listens for to reload its exceptions panel and header.
EXCEPTIONS_CHANGED = "ap:exceptions-changed"


def _require(request, perm: str, obj=None) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied


def _back_to_invoice(invoice_pk: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("apinvoices:invoice_detail", args=[invoice_pk]))


# --- Page images ---------------------------------------------------------------------------------


@require_safe
def document_page(request, pk: int, page: int):
    document = get_object_or_404(Document.objects.select_related("invoice"), pk=pk)
    _require(request, "apinvoices.view_document", document)
    try:
        path = document_page_png(document=document, page=page, width=request.GET.get("w"))
    except ApplicationError as err:
        raise Http404(err.message) from None
    except FileNotFoundError:
        raise Http404(_("The stored original is missing.")) from None
    response = FileResponse(path.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def document_page_words_view(request, pk: int, page: int):
    """The word boxes of one page as JSON, for clicking a word on the page image."""
    from apinvoices.services.words import document_page_words

    document = get_object_or_404(Document.objects.select_related("invoice"), pk=pk)
    _require(request, "apinvoices.view_document", document)
    try:
        words = document_page_words(document=document, page=page)
    except ApplicationError as err:
        raise Http404(err.message) from None
    except FileNotFoundError:
        raise Http404(_("The stored original is missing.")) from None
    response = JsonResponse({"page": page, "words": words})
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Field edits and exceptions -------------------------------------------------------------------


@require_POST
def invoice_field_edit(request, pk: int, name: str):
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.edit_invoice", invoice)
    if name not in REVIEW_FIELDS:
        raise Http404(_("No such field."))
    page = request.POST.get("page")
    bbox = request.POST.get("bbox")
    try:
        bbox_list = [float(v) for v in json.loads(bbox)][:4] if bbox else None
    except (ValueError, TypeError):
        bbox_list = None
    error = ""
    try:
        invoice_update_field(
            invoice=invoice, name=name, value=request.POST.get("value", ""), actor=request.user,
            page=int(page) if page and page.isdigit() else None, bbox=bbox_list if bbox_list and len(bbox_list) == 4 else None,
        )
    except ApplicationError as err:
        error = err.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return _back_to_invoice(pk)
    return _field_row_response(request, pk, name, error, request.POST.get("value", ""))


def _field_row_response(request, pk: int, name: str, error: str, submitted: str) -> HttpResponse:
    from apinvoices.views import field_row_context

    fresh = invoice_get_for_detail(pk=pk)
    response = render(
        request, "apinvoices/partials/_field_row.html",
        {"row": field_row_context(fresh, name), "invoice": fresh, "can_edit": True, "error": error,
         "submitted": submitted},
        status=422 if error else 200,
    )
    if not error:
        response["HX-Trigger"] = EXCEPTIONS_CHANGED
    return response


@require_POST
def invoice_field_pick(request, pk: int, name: str):
    """The clerk clicked a word on the page image while field ``name`` was selected."""
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.edit_invoice", invoice)
    if name not in REVIEW_FIELDS:
        raise Http404(_("No such field."))
    error = ""
    try:
        page = int(request.POST.get("page", ""))
        x, y = float(request.POST.get("x", "")), float(request.POST.get("y", ""))
    except ValueError:
        page, x, y, error = 0, 0.0, 0.0, _("Click a word on the page.")
    if not error:
        try:
            invoice_field_pick_word(invoice=invoice, name=name, page=page, x=x, y=y, actor=request.user)
        except ApplicationError as err:
            error = err.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return _back_to_invoice(pk)
    return _field_row_response(request, pk, name, error, "")


@require_safe
def invoice_exceptions_panel(request, pk: int):
    try:
        invoice = invoice_get_for_detail(pk=pk)
    except Invoice.DoesNotExist:
        raise Http404(_("No such invoice.")) from None
    _require(request, "apinvoices.view_invoice", invoice)
    from apinvoices.views import review_actions_context

    return render(request, "apinvoices/partials/_review_actions.html",
                  {"invoice": invoice, **review_actions_context(request, invoice)})


def _exception_action(request, pk: int, action) -> HttpResponse:
    exception = get_object_or_404(InvoiceException.objects.select_related("invoice"), pk=pk)
    _require(request, "apinvoices.work_exception", exception.invoice)
    try:
        action(exception)
    except ApplicationError as err:
        if request.htmx:
            return HttpResponse(err.message, status=422)
        messages.error(request, err.message)
    if request.htmx:
        return _panel(request, exception.invoice_id)
    nxt = request.POST.get("next", "")
    if nxt == "queue":
        return HttpResponseRedirect(reverse("apinvoices:exception_list"))
    return _back_to_invoice(exception.invoice_id)


def _panel(request, invoice_pk: int) -> HttpResponse:
    from apinvoices.views import review_actions_context

    invoice = invoice_get_for_detail(pk=invoice_pk)
    response = render(request, "apinvoices/partials/_review_actions.html",
                      {"invoice": invoice, **review_actions_context(request, invoice)})
    response["HX-Trigger"] = EXCEPTIONS_CHANGED
    return response


@require_POST
def exception_resolve(request, pk: int):
    return _exception_action(
        request, pk, lambda exc: invoice_exception_resolve(exception=exc, actor=request.user, note=request.POST.get("note", ""))
    )


@require_POST
def exception_dismiss(request, pk: int):
    return _exception_action(
        request, pk, lambda exc: invoice_exception_dismiss(exception=exc, actor=request.user, reason=request.POST.get("reason", ""))
    )


@require_POST
def invoice_send(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.send_to_approval", invoice)
    try:
        invoice = invoice_send_to_approval(invoice=invoice, actor=request.user)
    except ApplicationError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Sent to approval."))
        if request.POST.get("next") == "queue":
            following = clerk_queue_next(after=invoice)
            if following is not None:
                return _back_to_invoice(following.pk)
    return _back_to_invoice(pk)


@require_POST
def invoice_duplicate(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.work_exception", invoice)
    of = Invoice.objects.filter(pk=request.POST.get("of") or 0).first()
    try:
        invoice_mark_duplicate(invoice=invoice, actor=request.user, of=of)
    except ApplicationError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Marked as duplicate."))
    return _back_to_invoice(pk)


@require_safe
def invoice_next(request, pk: int):
    """``n`` on the review screen: the next invoice of the clerk's queue."""
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.edit_invoice", invoice)
    following = clerk_queue_next(after=invoice)
    if following is None:
        messages.info(request, _("The queue is empty."))
        return HttpResponseRedirect(reverse("apinvoices:inbox"))
    return _back_to_invoice(following.pk)


# --- Lines and the tax breakdown -----------------------------------------------------------------

# Which panel each kind of row edit answers with, and the name of its error in the context.
_ROW_PANELS = {
    "line": ("apinvoices/partials/_lines_panel.html", "line_error"),
    "tax": ("apinvoices/partials/_taxes_panel.html", "tax_error"),
}


def _row_edit(request, pk: int, panel: str, action) -> HttpResponse:
    """Shared body of the line and tax endpoints: permission, the service, then the panel
    (htmx, 422 with the reason when refused) or a redirect back to the page."""
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.edit_invoice", invoice)
    error = ""
    try:
        action(invoice)
    except ApplicationError as err:
        if err.code == ErrorCode.NOT_FOUND:
            raise Http404(err.message) from None
        error = err.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return _back_to_invoice(pk)
    from apinvoices.services.review import EDIT_STATES

    fresh = invoice_get_for_detail(pk=pk)
    template, error_name = _ROW_PANELS[panel]
    response = render(
        request, template,
        {"invoice": fresh, error_name: error,
         "can_edit": fresh.state in EDIT_STATES and request.user.has_perm("apinvoices.edit_invoice", fresh)},
        status=422 if error else 200,
    )
    if not error:
        response["HX-Trigger"] = EXCEPTIONS_CHANGED
    return response


def _posted(request, columns: tuple[str, ...]) -> dict[str, str]:
    return {name: request.POST[name] for name in columns if name in request.POST}


@require_POST
def invoice_line_add_view(request, pk: int):
    return _row_edit(request, pk, "line", lambda inv: invoice_line_add(
        invoice=inv, values=_posted(request, LINE_COLUMNS), actor=request.user))


@require_POST
def invoice_line_edit_view(request, pk: int, line_pk: int):
    return _row_edit(request, pk, "line", lambda inv: invoice_line_update(
        invoice=inv, line_id=line_pk, values=_posted(request, LINE_COLUMNS), actor=request.user))


@require_POST
def invoice_line_delete_view(request, pk: int, line_pk: int):
    return _row_edit(request, pk, "line", lambda inv: invoice_line_delete(
        invoice=inv, line_id=line_pk, actor=request.user))


@require_POST
def invoice_tax_add_view(request, pk: int):
    return _row_edit(request, pk, "tax", lambda inv: invoice_tax_add(
        invoice=inv, values=_posted(request, TAX_COLUMNS), actor=request.user))


@require_POST
def invoice_tax_edit_view(request, pk: int, tax_pk: int):
    return _row_edit(request, pk, "tax", lambda inv: invoice_tax_update(
        invoice=inv, tax_id=tax_pk, values=_posted(request, TAX_COLUMNS), actor=request.user))


@require_POST
def invoice_tax_delete_view(request, pk: int, tax_pk: int):
    return _row_edit(request, pk, "tax", lambda inv: invoice_tax_delete(
        invoice=inv, tax_id=tax_pk, actor=request.user))


# --- Exception queue ------------------------------------------------------------------------------


@require_safe
def exception_list(request):
    _require(request, "apinvoices.view_inbox")
    kind = request.GET.get("kind", "")
    kind = kind if kind in InvoiceException.Kind.values else ""
    age = request.GET.get("age", "")
    vendor_id = request.GET.get("vendor", "")
    vendor_id = int(vendor_id) if vendor_id.isdigit() else None
    scope = request.GET.get("scope", "work")
    scope = scope if scope in EXCEPTION_SCOPES else "work"
    page = Paginator(exception_list_open(kind=kind, vendor_id=vendor_id, age=age, scope=scope),
                     EXCEPTION_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = exception_counts_by_kind(scope=scope)
    labels = dict(InvoiceException.Kind.choices)
    context = {
        "page": page,
        "kinds": [{"value": k, "label": labels[k], **c} for k, c in sorted(counts.items(), key=lambda kv: -kv[1]["total"])],
        "total": sum(c["total"] for c in counts.values()),
        "kind": kind,
        "age": age,
        "ages": EXCEPTION_AGES,
        "scope": scope,
        "vendor": Vendor.objects.filter(pk=vendor_id).first() if vendor_id else None,
        "can_work": request.user.has_perm("apinvoices.work_exception"),
    }
    return render(request, "apinvoices/exception_list.html", context)


@require_POST
def exception_bulk_dismiss(request):
    _require(request, "apinvoices.work_exception")
    reason = (request.POST.get("reason") or "").strip()
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not reason:
        messages.error(request, _("Say why these warnings are not a problem."))
        return HttpResponseRedirect(reverse("apinvoices:exception_list"))
    # Only warnings: a blocking finding must be looked at one by one.
    chosen = InvoiceException.objects.filter(
        pk__in=ids, status=InvoiceException.Status.OPEN, severity=InvoiceException.Severity.WARNING
    ).select_related("invoice")
    done = 0
    for exception in chosen:
        invoice_exception_dismiss(exception=exception, actor=request.user, reason=reason)
        done += 1
    skipped = len(ids) - done
    messages.success(request, _("Dismissed %(n)d warning(s).") % {"n": done}
                     + (" " + _("%(n)d skipped (blocking or closed).") % {"n": skipped} if skipped else ""))
    return HttpResponseRedirect(reverse("apinvoices:exception_list") + "?" + request.POST.get("query", ""))


# --- Vendors ------------------------------------------------------------------------------------


@require_safe
def vendor_list(request):
    _require(request, "apinvoices.view_vendor")
    search = (request.GET.get("q") or "").strip()[:100]
    page = Paginator(vendor_list_with_counts(search=search), VENDOR_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "apinvoices/vendor_list.html", {"page": page, "q": search})


@require_safe
def vendor_detail(request, pk: int):
    _require(request, "apinvoices.view_vendor")
    try:
        vendor = vendor_get_for_detail(pk=pk)
    except Vendor.DoesNotExist:
        raise Http404(_("No such vendor.")) from None
    invoices = list(
        Invoice.objects.filter(vendor=vendor).only(
            "pk", "invoice_number", "state", "total_amount", "currency", "issue_date", "vendor_iban", "created_at"
        ).order_by("-created_at")[:20]
    )
    context = {
        "vendor": vendor,
        "invoices": invoices,
        "history": vendor_account_history(vendor=vendor),
        "can_verify": request.user.has_perm("apinvoices.verify_bank_account"),
    }
    return render(request, "apinvoices/vendor_detail.html", context)


def _account_action(request, pk: int, action) -> HttpResponse:
    account = get_object_or_404(VendorBankAccount, pk=pk)
    _require(request, "apinvoices.verify_bank_account", account)
    try:
        text = action(account)
    except ApplicationError as err:
        level = messages.warning if err.code == ErrorCode.FOUR_EYES else messages.error
        level(request, err.message)
    else:
        messages.success(request, text)
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return HttpResponseRedirect(back)
    return HttpResponseRedirect(reverse("apinvoices:vendor_detail", args=[account.vendor_id]))


@require_POST
def bank_account_verify_view(request, pk: int):
    def verify(account):
        bank_account_verify(account=account, user=request.user, method=request.POST.get("method", ""))
        return _("Account verified. Invoices waiting for it were checked again.")

    return _account_action(request, pk, verify)


@require_POST
def bank_account_reject_view(request, pk: int):
    def reject(account):
        bank_account_reject(account=account, user=request.user, reason=request.POST.get("reason", ""))
        return _("Account rejected; invoices paying to it stay blocked.")

    return _account_action(request, pk, reject)
