"""Dashboard, CSV exports and the auditor's read-only pages (STYLE.md §1: parse, select, render)."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from apinvoices.exports import csv_response
from apinvoices.forms import InboxFilterForm
from apinvoices.models import Invoice
from apinvoices.money import quantize_amount
from apinvoices.reports import (
    audit_changes_search,
    audit_events_search,
    dashboard_get,
    exception_list_for_export,
    history_csv_rows,
    invoice_history,
)
from apinvoices.selectors import invoice_list_for_inbox
from apinvoices.svgcharts import bar_chart
from apinvoices.views import _require

AUDIT_PAGE_SIZE = 50


def _amount(value, currency: str):
    """Stored amounts carry extra places; a CSV shows the currency's own minor unit."""
    return None if value is None else quantize_amount(value, currency or "EUR")


def _duration(span) -> str:
    """``timedelta`` -> "2 d 3 h" / "5 h 20 min" / "40 min"."""
    if span is None:
        return "—"
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


@require_safe
def dashboard(request):
    _require(request, "apinvoices.view_dashboard")
    data = dashboard_get()
    context = {
        "data": data,
        "state_chart": bar_chart(rows=[(label, n) for _s, label, n in data.by_state if n],
                                 title=_("Invoices by state")),
        "exception_chart": bar_chart(rows=[(label, n) for _k, label, n in data.exceptions_by_kind],
                                     title=_("Open exceptions on invoices in work")),
        "touchless_percent": None if data.touchless_rate is None else data.touchless_rate * 100,
        "cycle_median": _duration(data.cycle.median),
        "cycle_p90": _duration(data.cycle.p90),
    }
    return render(request, "apinvoices/dashboard.html", context)


@require_safe
def export_inbox_csv(request):
    """The inbox as CSV under the same filters (and state tab) as the page."""
    _require(request, "apinvoices.view_inbox")
    filters = InboxFilterForm(request.GET or None).filters()
    invoices = invoice_list_for_inbox(user=request.user, filters=filters)
    header = ("id", "state", "vendor", "invoice_number", "document_type", "issue_date", "due_date",
              "currency", "total_amount", "open_exceptions", "received_at")
    rows = (
        (inv.pk, inv.state, inv.vendor.name if inv.vendor else inv.vendor_name, inv.invoice_number,
         inv.document_type, inv.issue_date, inv.due_date, inv.currency,
         _amount(inv.total_amount, inv.currency),
         inv.open_exception_count, inv.document.received_at)
        for inv in invoices.iterator(chunk_size=500)
    )
    stamp = timezone.localdate().isoformat()
    return csv_response(filename=f"inbox-{stamp}.csv", header=header, rows=rows)


@require_safe
def export_exceptions_csv(request):
    """The open exception queue as CSV."""
    _require(request, "apinvoices.view_inbox")
    header = ("exception_id", "kind", "severity", "message", "opened_at", "invoice_id",
              "invoice_number", "vendor", "state", "currency", "total_amount")
    rows = (
        (exc.pk, exc.kind, exc.severity, exc.message, exc.created_at, exc.invoice_id,
         exc.invoice.invoice_number,
         exc.invoice.vendor.name if exc.invoice.vendor else exc.invoice.vendor_name,
         exc.invoice.state, exc.invoice.currency, _amount(exc.invoice.total_amount, exc.invoice.currency))
        for exc in exception_list_for_export().iterator(chunk_size=500)
    )
    stamp = timezone.localdate().isoformat()
    return csv_response(filename=f"exceptions-{stamp}.csv", header=header, rows=rows)


class AuditFilterForm(forms.Form):
    invoice = forms.CharField(label=_("Invoice (id or number)"), required=False, max_length=64)
    vendor = forms.CharField(label=_("Vendor"), required=False, max_length=200)
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    show = forms.ChoiceField(
        choices=(("events", _("Timeline events")), ("changes", _("Field changes"))), required=False
    )

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v.strip() if isinstance(v, str) else v for k, v in self.cleaned_data.items() if v}


@require_safe
def audit(request):
    _require(request, "apinvoices.view_audit")
    form = AuditFilterForm(request.GET or None)
    filters = form.filters()
    show = filters.pop("show", "events")
    qs = audit_changes_search(filters=filters) if show == "changes" else audit_events_search(filters=filters)
    page = Paginator(qs, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "apinvoices/audit.html", {
        "form": form, "page": page, "show": show, "query": params.urlencode(),
    })


def _history_invoice(request, pk: int) -> Invoice:
    invoice = get_object_or_404(Invoice.objects.select_related("vendor"), pk=pk)
    _require(request, "apinvoices.view_audit")
    return invoice


@require_safe
def invoice_history_page(request, pk: int):
    invoice = _history_invoice(request, pk)
    return render(request, "apinvoices/invoice_history.html", {
        "invoice": invoice, "rows": invoice_history(invoice=invoice), "printed_at": timezone.now(),
    })


@require_safe
def invoice_history_csv(request, pk: int):
    invoice = _history_invoice(request, pk)
    return csv_response(
        filename=f"invoice-{invoice.pk}-history.csv",
        header=("at", "what", "actor", "summary", "details"),
        rows=history_csv_rows(invoice_history(invoice=invoice)),
    )
