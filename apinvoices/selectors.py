"""Reads for pages (STYLE.md §1): querysets tuned so a template never queries on its own."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from apinvoices.models import (
    DocumentReceipt,
    ExtractedField,
    Invoice,
    InvoiceEvent,
    InvoiceException,
)

WORK_TAB = "work"


def _search_condition(text: str) -> Q:
    text = text.strip()
    compact = "".join(ch for ch in text if ch.isalnum())
    condition = (
        Q(invoice_number__icontains=text)
        | Q(vendor_name__icontains=text)
        | Q(vendor__name__icontains=text)
    )
    if compact:
        condition |= Q(invoice_number_normalized__icontains=compact)
    return condition


def _apply_filters(qs: QuerySet, filters: dict, *, with_state: bool) -> QuerySet:
    if text := filters.get("q"):
        qs = qs.filter(_search_condition(text))
    if vendor := filters.get("vendor"):
        qs = qs.filter(vendor=vendor)
    if issued_from := filters.get("issued_from"):
        qs = qs.filter(issue_date__gte=issued_from)
    if issued_to := filters.get("issued_to"):
        qs = qs.filter(issue_date__lte=issued_to)
    if (amount_min := filters.get("amount_min")) is not None:
        qs = qs.filter(total_amount__gte=amount_min)
    if (amount_max := filters.get("amount_max")) is not None:
        qs = qs.filter(total_amount__lte=amount_max)
    if with_state and (state := filters.get("state")):
        if state == WORK_TAB:
            qs = qs.filter(state__in=Invoice.CLERK_WORK_STATES)
        else:
            qs = qs.filter(state=state)
    return qs


def invoice_list_for_inbox(*, user, filters: dict) -> QuerySet[Invoice]:
    """Invoices for the inbox table, newest first, one query per page.

    Each row carries ``vendor`` and ``document`` (select_related) and the annotation
    ``open_exception_count``. ``filters`` is ``InboxFilterForm.filters()``: q, state (a state,
    ``"work"`` or absent), vendor, issued_from/to, amount_min/max. ``user`` is accepted so that
    row-level visibility can narrow the list later; today every inbox user sees every invoice.
    """
    qs = (
        Invoice.objects.select_related("vendor", "document")
        .only(
            "pk", "state", "invoice_number", "vendor_name", "issue_date", "due_date", "currency",
            "total_amount", "min_confidence", "created_at", "document_type",
            "vendor__name", "document__received_at",
        )
        .with_open_exception_count()
        .order_by("-created_at", "-pk")
    )
    return _apply_filters(qs, filters, with_state=True)


@dataclass(frozen=True)
class StateCounts:
    by_state: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def work(self) -> int:
        return sum(self.by_state.get(s, 0) for s in Invoice.CLERK_WORK_STATES)


def invoice_state_counts(*, user, filters: dict) -> StateCounts:
    """Counts per state for the inbox tabs under the same filters except the state: one query."""
    qs = _apply_filters(Invoice.objects.all(), filters, with_state=False)
    rows = qs.order_by().values("state").annotate(n=Count("pk"))
    return StateCounts(by_state={row["state"]: row["n"] for row in rows})


def invoice_get_for_detail(*, pk: int) -> Invoice:
    """One invoice with everything its page shows, in a fixed number of queries.

    Prefetched: ``field_rows`` (ExtractedField), lines, taxes, ``open_exceptions``,
    events with actors, and the document's receipts. Raises ``Invoice.DoesNotExist``.
    """
    return (
        Invoice.objects.select_related("vendor", "document", "purchase_order")
        .prefetch_related(
            Prefetch("fields", queryset=ExtractedField.objects.order_by("name"), to_attr="field_rows"),
            "lines",
            "taxes",
            "erp_postings",
            Prefetch(
                "exceptions",
                queryset=InvoiceException.objects.filter(status=InvoiceException.Status.OPEN)
                .select_related("related_invoice")
                .order_by("-severity", "created_at"),
                to_attr="open_exceptions",
            ),
            Prefetch(
                "events",
                queryset=InvoiceEvent.objects.select_related("actor", "on_behalf_of").order_by(
                    "-created_at", "-pk"
                ),
                to_attr="timeline",
            ),
            Prefetch(
                "document__receipts",
                queryset=DocumentReceipt.objects.select_related("received_by"),
                to_attr="receipt_rows",
            ),
        )
        .get(pk=pk)
    )


def inbox_nav_counts() -> dict[str, int]:
    """Badges for the navigation: open clerk work and open exceptions, in one query."""
    return Invoice.objects.aggregate(
        work=Count("pk", filter=Q(state__in=Invoice.CLERK_WORK_STATES)),
        exceptions=Count("pk", filter=Q(state=Invoice.State.EXCEPTION)),
    )
