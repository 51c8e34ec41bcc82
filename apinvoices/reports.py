"""Reads for the dashboard, the CSV exports and the auditor's pages (STYLE.md §1: selectors).

Every function here is a fixed number of queries, whatever the number of invoices, and money
is summed as Decimal per currency (never across currencies).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent, InvoiceException
from apinvoices.selectors import exceptions_open

S = Invoice.State
# States an invoice is in once someone approved it (the touchless-rate denominator).
APPROVED_STATES = (S.APPROVED, S.POSTED, S.SCHEDULED, S.PAID)
# Invoices that still have to be paid: the overdue and due-this-week sums.
PAYABLE_STATES = (S.AWAITING_APPROVAL, S.APPROVED, S.POSTED, S.SCHEDULED)


@dataclass(frozen=True)
class CycleTime:
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class Dashboard:
    today: date
    by_state: list[tuple[str, str, int]]  # (state, label, count), workflow order
    approved_total: int
    approved_touchless: int
    cycle: CycleTime
    exceptions_by_kind: list[tuple[str, str, int]]  # open exceptions: (kind, label, count)
    overdue: dict[str, Decimal]  # currency -> sum of total_amount
    due_this_week: dict[str, Decimal]

    @property
    def touchless_rate(self) -> Decimal | None:
        """Share (0..1, 3 places) of approved invoices nobody had to touch; None if none."""
        if not self.approved_total:
            return None
        return (Decimal(self.approved_touchless) / Decimal(self.approved_total)).quantize(Decimal("0.001"))


def _percentile(sorted_values: list[timedelta], fraction: float) -> timedelta | None:
    """Nearest-rank percentile: the smallest value with at least ``fraction`` of values at or below."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _median(sorted_values: list[timedelta]) -> timedelta | None:
    n = len(sorted_values)
    if not n:
        return None
    mid = n // 2
    if n % 2:
        return sorted_values[mid]
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


def invoice_cycle_times() -> CycleTime:
    """Receipt -> first posting, per posted invoice, from InvoiceEvent timestamps (one query).

    Receipt is the first ``received`` event, or the invoice's creation when the invoice has
    none (invoices created before events were written).
    """
    rows = (
        Invoice.objects.annotate(
            received=Min("events__created_at", filter=Q(events__kind=InvoiceEvent.Kind.RECEIVED)),
            posted=Min("events__created_at", filter=Q(events__to_state=S.POSTED)),
        )
        .filter(posted__isnull=False)
        .values_list("created_at", "received", "posted")
    )
    spans = sorted(max(posted - (received or created), timedelta(0)) for created, received, posted in rows)
    return CycleTime(count=len(spans), median=_median(spans), p90=_percentile(spans, 0.9))


def dashboard_get(*, today: date | None = None) -> Dashboard:
    """Everything the dashboard shows, in five queries."""
    today = today or timezone.localdate()
    labels = dict(S.choices)
    counts = dict(Invoice.objects.order_by().values_list("state").annotate(n=Count("pk")))
    by_state = [(state, labels[state], counts.get(state, 0)) for state in S.values]

    approved = Invoice.objects.filter(state__in=APPROVED_STATES).aggregate(
        total=Count("pk"), touchless=Count("pk", filter=Q(touched_by_human=False))
    )

    kind_labels = dict(InvoiceException.Kind.choices)
    exc_rows = (
        exceptions_open(scope="work")  # as the exception queue counts them
        .order_by()
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    exceptions = sorted(
        ((kind, kind_labels.get(kind, kind), n) for kind, n in exc_rows), key=lambda r: (-r[2], r[0])
    )

    week_end = today + timedelta(days=6)
    money_rows = (
        Invoice.objects.filter(state__in=PAYABLE_STATES, due_date__isnull=False, total_amount__isnull=False)
        .order_by()
        .values("currency")
        .annotate(
            overdue=Sum("total_amount", filter=Q(due_date__lt=today)),
            week=Sum("total_amount", filter=Q(due_date__gte=today, due_date__lte=week_end)),
        )
        .order_by("currency")
    )
    overdue = {r["currency"]: r["overdue"] for r in money_rows if r["overdue"] is not None}
    week = {r["currency"]: r["week"] for r in money_rows if r["week"] is not None}

    return Dashboard(
        today=today,
        by_state=by_state,
        approved_total=approved["total"],
        approved_touchless=approved["touchless"],
        cycle=invoice_cycle_times(),
        exceptions_by_kind=exceptions,
        overdue=overdue,
        due_this_week=week,
    )


def exception_list_for_export() -> QuerySet[InvoiceException]:
    """Open exceptions with their invoice and vendor, most severe and oldest first (one query)."""
    return (
        InvoiceException.objects.filter(status=InvoiceException.Status.OPEN)
        .select_related("invoice", "invoice__vendor")
        .order_by("severity", "created_at", "pk")
    )


# --- Auditor -----------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def audit_events_search(*, filters: dict) -> QuerySet[InvoiceEvent]:
    """InvoiceEvents matching the auditor's filters, newest first.

    ``filters``: invoice (pk or invoice number), vendor (name contains), user (username),
    date_from/date_to (inclusive dates).
    """
    qs = InvoiceEvent.objects.select_related("invoice", "actor", "on_behalf_of").order_by("-created_at", "-pk")
    if invoice := filters.get("invoice"):
        cond = Q(invoice__invoice_number__iexact=invoice)
        if invoice.isdigit():
            cond |= Q(invoice_id=int(invoice))
        qs = qs.filter(cond)
    if vendor := filters.get("vendor"):
        qs = qs.filter(Q(invoice__vendor_name__icontains=vendor) | Q(invoice__vendor__name__icontains=vendor))
    if user := filters.get("user"):
        qs = qs.filter(Q(actor__username__iexact=user) | Q(on_behalf_of__username__iexact=user))
    if day := filters.get("date_from"):
        qs = qs.filter(created_at__gte=_day_start(day))
    if day := filters.get("date_to"):
        qs = qs.filter(created_at__lt=_day_start(day + timedelta(days=1)))
    return qs


def audit_changes_search(*, filters: dict) -> QuerySet[LogEntry]:
    """auditlog field changes matching the same filters, newest first.

    ``invoice`` narrows to changes of that invoice; ``vendor`` to changes of vendors (and their
    invoices) whose name contains the text.
    """
    qs = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if invoice := filters.get("invoice"):
        ids = list(
            Invoice.objects.filter(
                Q(invoice_number__iexact=invoice) | (Q(pk=int(invoice)) if invoice.isdigit() else Q(pk__in=[]))
            ).values_list("pk", flat=True)
        )
        qs = qs.filter(content_type=ContentType.objects.get_for_model(Invoice), object_id__in=ids)
    if vendor := filters.get("vendor"):
        from apinvoices.models import Vendor

        vendor_ids = list(Vendor.objects.filter(name__icontains=vendor).values_list("pk", flat=True))
        invoice_ids = list(
            Invoice.objects.filter(Q(vendor_id__in=vendor_ids) | Q(vendor_name__icontains=vendor)).values_list(
                "pk", flat=True
            )
        )
        qs = qs.filter(
            Q(content_type=ContentType.objects.get_for_model(Vendor), object_id__in=vendor_ids)
            | Q(content_type=ContentType.objects.get_for_model(Invoice), object_id__in=invoice_ids)
        )
    if user := filters.get("user"):
        qs = qs.filter(actor__username__iexact=user)
    if day := filters.get("date_from"):
        qs = qs.filter(timestamp__gte=_day_start(day))
    if day := filters.get("date_to"):
        qs = qs.filter(timestamp__lt=_day_start(day + timedelta(days=1)))
    return qs


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    what: str  # "event:<kind>" or "change:<model>"
    actor: str
    summary: str
    details: str


def _user_label(user) -> str:
    return user.get_username() if user is not None else ""


def _changes_text(entry: LogEntry) -> str:
    changes = entry.changes_dict or {}
    return "; ".join(f"{field}: {old!s} → {new!s}" for field, (old, new) in sorted(changes.items()))


def invoice_history(*, invoice: Invoice) -> list[HistoryRow]:
    """The invoice's complete history, oldest first: every InvoiceEvent (receipt, state changes,
    field edits, decisions, postings, payments) and every auditlog change of the invoice, its
    lines and exceptions, and of ERP postings and payments that point at it. Fixed query count.
    """
    rows: list[HistoryRow] = []
    for event in invoice.events.select_related("actor", "on_behalf_of").order_by("created_at", "pk"):
        actor = _user_label(event.actor) or event.source
        if event.on_behalf_of_id:
            actor = f"{actor} (for {_user_label(event.on_behalf_of)})"
        summary = event.get_kind_display()
        if event.to_state:
            summary = f"{summary}: {event.from_state or '—'} → {event.to_state}"
        rows.append(HistoryRow(event.created_at, f"event:{event.kind}", actor, summary, event.message))

    from apinvoices.models import InvoiceLine

    related = [(Invoice, [invoice.pk])]
    related.append((InvoiceLine, list(invoice.lines.values_list("pk", flat=True))))
    related.append((InvoiceException, list(invoice.exceptions.values_list("pk", flat=True))))
    # Read-only lookup of the ERP app's rows that point at this invoice (for their auditlog).
    from erp_integration.models import ErpPosting, Payment

    related.append((ErpPosting, list(invoice.erp_postings.values_list("pk", flat=True))))
    related.append((Payment, list(invoice.payments.values_list("pk", flat=True))))
    cond = Q(pk__in=[])
    for model, ids in related:
        if ids:
            cond |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)
    entries = LogEntry.objects.filter(cond).select_related("actor", "content_type").order_by("timestamp", "pk")
    for entry in entries:
        model = entry.content_type.model
        rows.append(
            HistoryRow(
                entry.timestamp,
                f"change:{model}",
                _user_label(entry.actor) or (entry.remote_addr or "system"),
                f"{entry.get_action_display()} {entry.content_type.name} {entry.object_repr}",
                _changes_text(entry),
            )
        )
    rows.sort(key=lambda r: r.at)
    return rows


def history_csv_rows(rows: list[HistoryRow]) -> Iterator[tuple]:
    for row in rows:
        yield (row.at, row.what, row.actor, row.summary, row.details)

