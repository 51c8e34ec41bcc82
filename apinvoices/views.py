"""Clerk pages: parse the request, call a selector or service, render (STYLE.md §1)."""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import unicodedata

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST, require_safe

from apinvoices.exceptions import ApplicationError, InvalidTransition
from apinvoices.forms import InboxFilterForm, client_ip
from apinvoices.models import Document, Invoice
from apinvoices.money import quantize_amount
from apinvoices.services.extraction import invoice_extraction_retry
from apinvoices.services.review import EDIT_STATES
from apinvoices.selectors import (
    WORK_TAB,
    inbox_total,
    invoice_get_for_detail,
    invoice_list_for_inbox,
    invoice_state_counts,
)
from apinvoices.states import INVOICE_MACHINE, invoice_transition

logger = logging.getLogger(__name__)
INBOX_PAGE_SIZE = 50
# States that get their own inbox tab even when empty, in the order work flows through them.
INBOX_TAB_STATES = (
    Invoice.State.NEEDS_REVIEW,
    Invoice.State.EXCEPTION,
    Invoice.State.AWAITING_APPROVAL,
    Invoice.State.APPROVED,
    Invoice.State.POSTED,
    Invoice.State.PAID,
)
# Only these types are ever shown inline (in the review screen's frame); anything else,
# notably HTML, SVG and XML, is always an attachment so it cannot run in our origin.
INLINE_CONTENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/tiff", "image/webp"})


class CountedPaginator(Paginator):
    """A paginator told its row count: the inbox already has it from the tab counts, and a
    second COUNT over the same (possibly 100,000) rows is the most expensive query of a page."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _require(request, perm: str, obj=None) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied


def _tabs(counts, active_state: str, filter_params) -> list[dict]:
    def entry(value: str, label, count: int) -> dict:
        params = filter_params.copy()
        params.pop("page", None)
        for name in [k for k, v in params.lists() if not any(v)]:
            params.pop(name)
        if value:
            params["state"] = value
        else:
            params.pop("state", None)
        return {"value": value, "label": label, "count": count, "active": value == active_state,
                "query": params.urlencode()}

    tabs = [entry("", _("All"), counts.total), entry(WORK_TAB, _("Open work"), counts.work)]
    labels = dict(Invoice.State.choices)
    shown = set()
    for state in INBOX_TAB_STATES:
        tabs.append(entry(state, labels[state], counts.by_state.get(state, 0)))
        shown.add(state)
    for state, label in Invoice.State.choices:
        if state not in shown and (counts.by_state.get(state) or state == active_state):
            tabs.append(entry(state, label, counts.by_state.get(state, 0)))
    return tabs


@require_safe
def inbox(request):
    _require(request, "apinvoices.view_inbox")
    form = InboxFilterForm(request.GET or None)
    filters = form.filters()
    invoices = invoice_list_for_inbox(user=request.user, filters=filters)
    counts = invoice_state_counts(user=request.user, filters=filters)
    page = CountedPaginator(invoices, INBOX_PAGE_SIZE, count=inbox_total(counts, filters)).get_page(
        request.GET.get("page")
    )
    active_state = filters.get("state", "")
    context = {
        "form": form,
        "page": page,
        "tabs": _tabs(counts, active_state, request.GET.copy()),
        "active_state": active_state,
        "has_filters": any(k != "state" for k in filters),
        "can_upload": request.user.has_perm("apinvoices.upload_document"),
        "today": timezone.localdate(),
        "closed_states": Invoice.CLOSED_STATES,
    }
    template = "apinvoices/partials/_inbox_results.html" if request.htmx else "apinvoices/inbox.html"
    return render(request, template, context)


# (key, title, ((field, label), ...)): the invoice page's field panels, in reading order.
FIELD_GROUPS = (
    ("vendor", _lazy("Vendor"), (("vendor_name", _lazy("Name")), ("vendor_tax_id", _lazy("Tax ID")))),
    ("document", _lazy("Document"), (("invoice_number", _lazy("Invoice number")),
                                     ("document_type", _lazy("Type")),
                                     ("issue_date", _lazy("Issue date")))),
    ("amounts", _lazy("Amounts"), (("net_amount", _lazy("Net")), ("tax_amount", _lazy("Tax")),
                                   ("total_amount", _lazy("Total")), ("currency", _lazy("Currency")))),
    ("payment", _lazy("Payment"), (("due_date", _lazy("Due date")), ("payment_terms", _lazy("Terms")),
                                   ("vendor_iban", _lazy("IBAN")), ("vendor_bic", _lazy("BIC")))),
    ("po", _lazy("Purchase order"), (("po_number", _lazy("PO number")),
                                     ("cost_centre", _lazy("Cost centre")),
                                     ("gl_account", _lazy("GL account")))),
)
MONEY_FIELDS = frozenset({"net_amount", "tax_amount", "total_amount"})
CODE_FIELDS = frozenset({"vendor_iban", "vendor_bic", "vendor_tax_id"})


def _field_row(invoice: Invoice, name: str, label, extracted: dict) -> dict:
    from apinvoices.services.review import REVIEW_FIELDS

    value = getattr(invoice, name)
    if name == "document_type":
        value = invoice.get_document_type_display()
    row = extracted.get(name)
    if value is None or value == "":
        edit_value = ""
    elif hasattr(value, "isoformat"):
        edit_value = value.isoformat()
    elif name in MONEY_FIELDS and invoice.currency:
        edit_value = str(quantize_amount(value, invoice.currency))
    else:
        edit_value = str(value)
    return {
        "name": name,
        "label": label,
        "value": value,
        "edit_value": edit_value,
        "is_money": name in MONEY_FIELDS,
        "is_code": name in CODE_FIELDS,
        "is_date": name in ("issue_date", "due_date"),
        "editable": name in REVIEW_FIELDS,
        "extracted": row,
        "bbox_json": json.dumps(row.bbox) if row is not None and row.bbox else "",
    }


def field_row_context(invoice: Invoice, name: str) -> dict:
    """The review screen's row for one field (used by the htmx edit response)."""
    labels = {n: label for _k, _t, fields in FIELD_GROUPS for n, label in fields}
    return _field_row(invoice, name, labels.get(name, name), {r.name: r for r in invoice.field_rows})


def review_actions_context(request, invoice: Invoice) -> dict:
    """Flags for the exceptions panel and the action buttons (one place for both renders)."""
    blocking = [e for e in invoice.open_exceptions if e.severity == "blocking"]
    return {
        "can_work": request.user.has_perm("apinvoices.work_exception", invoice),
        "can_send": request.user.has_perm("apinvoices.send_to_approval", invoice)
        and invoice.state in (Invoice.State.NEEDS_REVIEW, Invoice.State.EXCEPTION) and not blocking,
        "duplicate_of": next(
            (e.related_invoice for e in invoice.open_exceptions if e.kind == "duplicate" and e.related_invoice), None
        ),
        "can_mark_duplicate": request.user.has_perm("apinvoices.work_exception", invoice)
        and INVOICE_MACHINE.can(invoice.state, Invoice.State.DUPLICATE)
        and any(e.kind == "duplicate" for e in invoice.open_exceptions),
    }


def _field_groups(invoice: Invoice) -> list[dict]:
    extracted = {row.name: row for row in invoice.field_rows}
    groups = []
    for key, title, fields in FIELD_GROUPS:
        rows = [_field_row(invoice, name, label, extracted) for name, label in fields]
        groups.append({
            "key": key,
            "title": title,
            "rows": rows,
            "is_empty": all(r["value"] in (None, "") and r["extracted"] is None for r in rows),
        })
    return groups


@require_safe
def invoice_detail(request, pk: int):
    try:
        invoice = invoice_get_for_detail(pk=pk)
    except Invoice.DoesNotExist:
        raise Http404(_("No such invoice.")) from None
    _require(request, "apinvoices.view_invoice", invoice)
    can_view_document = request.user.has_perm("apinvoices.view_document", invoice.document)
    context = {
        "invoice": invoice,
        "field_groups": _field_groups(invoice),
        **review_actions_context(request, invoice),
        **(_viewer_context(invoice.document) if can_view_document else {}),
        "can_void": INVOICE_MACHINE.can(invoice.state, Invoice.State.VOID)
        and request.user.has_perm("apinvoices.void_invoice", invoice),
        "can_view_document": can_view_document,
        "can_extract_again": invoice.state == Invoice.State.EXTRACTION_FAILED
        and request.user.has_perm("apinvoices.edit_invoice", invoice),
        # Fields are editable where an edit makes sense: clerk work, or in approval (re-routed).
        "can_edit": request.user.has_perm("apinvoices.edit_invoice", invoice)
        and invoice.state in EDIT_STATES,
        "inline_original": invoice.document.content_type in INLINE_CONTENT_TYPES,
    }
    return render(request, "apinvoices/invoice_detail.html", context)


def _viewer_context(document: Document) -> dict:
    """What the review screen's left half shows: page images with their sizes, or XML text."""
    from apinvoices.services.previews import DEFAULT_WIDTH, document_page_sizes, document_xml_text

    try:
        if document.kind == Document.Kind.XML:
            return {"viewer": "xml", "xml_text": document_xml_text(document=document)}
        if document.kind in (Document.Kind.PDF, Document.Kind.IMAGE) and not (
            document.is_encrypted and not document.password_ciphertext
        ):
            sizes = document_page_sizes(document=document)
            if sizes:
                return {
                    "viewer": "pages",
                    "page_sizes_json": json.dumps([[round(w, 2), round(h, 2)] for w, h in sizes]),
                    "page_count": len(sizes),
                    "preview_width": DEFAULT_WIDTH,
                }
    except Exception:  # an unreadable original must not break the page; the download still works
        logger.warning("no preview for document %s", document.pk, exc_info=True)
    return {"viewer": ""}


@require_POST
def invoice_void(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.void_invoice", invoice)
    reason = (request.POST.get("reason") or "").strip()[:500]
    try:
        invoice_transition(
            invoice=invoice,
            to=Invoice.State.VOID,
            actor=request.user,
            reason=reason or _("Voided by a clerk"),
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except InvalidTransition as err:
        messages.error(request, _("Nothing changed: %(why)s") % {"why": err.message})
    else:
        messages.success(request, _("Invoice %(number)s is void.") % {"number": invoice})
    return HttpResponseRedirect(reverse("apinvoices:invoice_detail", args=[invoice.pk]))


@require_POST
def invoice_extract_again(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    _require(request, "apinvoices.edit_invoice", invoice)
    try:
        invoice_extraction_retry(invoice=invoice, actor=request.user)
    except ApplicationError as err:
        messages.error(request, _("Nothing changed: %(why)s") % {"why": err.message})
    else:
        messages.success(request, _("The document is being read again."))
    return HttpResponseRedirect(reverse("apinvoices:invoice_detail", args=[invoice.pk]))


_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")
# The extension a download gets for each stored type (mimetypes' guesses vary by platform).
_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
    "image/webp": "webp",
    "application/xml": "xml",
    "text/xml": "xml",
    "message/rfc822": "eml",
}


def safe_download_name(document: Document) -> str:
    """A file name that is safe in a header and on any disk: no path, no control or quote
    characters, no leading dots, with an extension that matches the stored content type."""
    raw = (document.original_filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE_FILENAME_CHARS.sub("_", ascii_name).strip(" ._")[:120]
    stem, dot, ext = name.rpartition(".")
    expected = _EXTENSIONS.get(document.content_type) or (
        mimetypes.guess_extension(document.content_type or "") or ""
    ).lstrip(".")
    if not stem or not dot:
        stem = name or f"document-{document.pk}"
        ext = expected
    elif expected and ext.lower() not in {expected, "jpeg" if expected == "jpg" else expected, "tiff" if expected == "tif" else expected}:
        ext = f"{ext}.{expected}"
    return f"{stem}.{ext}" if ext else stem


@xframe_options_sameorigin  # the review screen frames the inline original; nothing else may
@require_safe
def document_original(request, pk: int):
    document = get_object_or_404(Document.objects.select_related("invoice"), pk=pk)
    _require(request, "apinvoices.view_document", document)
    inline = request.GET.get("inline") == "1" and document.content_type in INLINE_CONTENT_TYPES
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The stored original is missing.")) from None
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=safe_download_name(document),
        content_type=document.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    if inline:
        response["Content-Security-Policy"] = "sandbox"
    return response
