"""Reads for pages (STYLE.md §1): querysets tuned so a template never queries on its own."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Func, OuterRef, Prefetch, Q, QuerySet, Subquery

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
        # A correlated count, evaluated for the page's rows only. A join + GROUP BY (what
        # Count("exceptions") compiles to) aggregates every matching invoice before the LIMIT:
        # at 100,000 invoices that was most of the inbox's time.
        .annotate(open_exception_count=_open_exception_count())
        .order_by("-created_at", "-pk")
    )
    return _apply_filters(qs, filters, with_state=True)


def _open_exception_count():
    return Subquery(
        InvoiceException.objects.filter(invoice=OuterRef("pk"), status=InvoiceException.Status.OPEN)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )


def inbox_total(counts: StateCounts, filters: dict) -> int:
    """The number of rows ``invoice_list_for_inbox(filters=filters)`` returns, read off the tab
    counts (same filters except the state) instead of a second COUNT over the same rows."""
    state = filters.get("state", "")
    if not state:
        return counts.total
    if state == WORK_TAB:
        return counts.work
    return counts.by_state.get(state, 0)


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
    """Badges for the navigation: open clerk work and open exceptions, in one query.

    Every page renders these, so the query reads only the state index's entries for the work
    states (a range per state), never the closed history that makes up most of the table.
    """
    rows = (
        Invoice.objects.filter(state__in=Invoice.CLERK_WORK_STATES)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
    )
    by_state = {row["state"]: row["n"] for row in rows}
    return {"work": sum(by_state.values()), "exceptions": by_state.get(Invoice.State.EXCEPTION, 0)}


# --- Exception queue, vendors, the clerk's queue -------------------------------------------------

# Age buckets of the exception queue: (key, label, lower bound in days, upper bound or None).
EXCEPTION_AGES = (("today", "Today", 0, 1), ("week", "1–7 days", 1, 8), ("older", "Older", 8, None))


# Which invoices' findings the exception queue shows: those a clerk still has to work, or all,
# including warnings that stayed open on invoices already sent on (approved, posted, paid).
EXCEPTION_SCOPES = ("work", "all")


def exceptions_open(*, scope: str = "work") -> QuerySet[InvoiceException]:
    qs = InvoiceException.objects.filter(status=InvoiceException.Status.OPEN)
    if scope != "all":
        qs = qs.filter(invoice__state__in=Invoice.CLERK_WORK_STATES)
    return qs


def exception_list_open(
    *, kind: str = "", vendor_id: int | None = None, age: str = "", scope: str = "work"
) -> QuerySet[InvoiceException]:
    """Open exceptions, blocking before warnings, oldest first, with invoice and vendor joined
    (one query per page). ``scope`` "work" (default) keeps to invoices still in the clerk's
    hands; "all" adds the warnings left open on invoices already sent on."""
    from datetime import timedelta

    from django.utils import timezone

    qs = (
        exceptions_open(scope=scope)
        .select_related("invoice", "invoice__vendor")
        .order_by("severity", "created_at", "pk")
    )
    if kind:
        qs = qs.filter(kind=kind)
    if vendor_id:
        qs = qs.filter(invoice__vendor_id=vendor_id)
    for key, _label, low, high in EXCEPTION_AGES:
        if age == key:
            now = timezone.now()
            qs = qs.filter(created_at__lte=now - timedelta(days=low))
            if high is not None:
                qs = qs.filter(created_at__gt=now - timedelta(days=high))
    return qs


def exception_counts_by_kind(*, scope: str = "work") -> dict[str, dict[str, int]]:
    """{kind: {"total": n, "blocking": m}} over open exceptions in ``scope``, in one query."""
    rows = (
        exceptions_open(scope=scope)
        .values("kind")
        .annotate(total=Count("pk"), blocking=Count("pk", filter=Q(severity=InvoiceException.Severity.BLOCKING)))
        .order_by()
    )
    return {row["kind"]: {"total": row["total"], "blocking": row["blocking"]} for row in rows}


def vendor_list_with_counts(*, search: str = "") -> QuerySet:
    """Vendors with their bank-account counts by status and open invoice count (one query)."""
    from apinvoices.models import Vendor, VendorBankAccount

    qs = Vendor.objects.annotate(
        account_count=Count("bank_accounts", distinct=True),
        unverified_count=Count(
            "bank_accounts", filter=Q(bank_accounts__status=VendorBankAccount.Status.UNVERIFIED), distinct=True
        ),
        open_invoice_count=Count("invoices", filter=Q(invoices__state__in=Invoice.CLERK_WORK_STATES), distinct=True),
    ).order_by("name")
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(tax_id__icontains=search.replace(" ", "")))
    return qs


def vendor_get_for_detail(*, pk: int):
    """A vendor with bank accounts (and who entered/verified them), recent invoices and hints.
    Raises ``Vendor.DoesNotExist``."""
    from apinvoices.models import Vendor, VendorBankAccount, VendorFieldHint

    return (
        Vendor.objects.select_related("owner")
        .prefetch_related(
            Prefetch(
                "bank_accounts",
                queryset=VendorBankAccount.objects.select_related("entered_by", "verified_by").order_by("-created_at"),
                to_attr="account_rows",
            ),
            Prefetch(
                "field_hints", queryset=VendorFieldHint.objects.order_by("field_name"), to_attr="hint_rows"
            ),
        )
        .get(pk=pk)
    )


def vendor_account_history(*, vendor) -> list:
    """Auditlog entries of the vendor's bank accounts, newest first, actors joined (one query)."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from apinvoices.models import VendorBankAccount

    ids = [str(account.pk) for account in vendor.account_rows]
    if not ids:
        return []
    entries = list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(VendorBankAccount), object_pk__in=ids
        )
        .select_related("actor")
        .order_by("-timestamp")[:100]
    )
    # Users named in entered_by/verified_by changes, fetched once for the whole list.
    from django.contrib.auth import get_user_model

    user_ids = {
        value for entry in entries for name, pair in entry.changes_dict.items()
        if name in _ACCOUNT_USER_FIELDS for value in pair if value and str(value).isdigit()
    }
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username")) if user_ids else {}
    for entry in entries:
        entry.change_rows = []
        for name, (old, new) in entry.changes_dict.items():
            if name in _HISTORY_HIDDEN or old == new:
                continue
            if name in _ACCOUNT_USER_FIELDS:
                old = names.get(int(old), old) if old and str(old).isdigit() else old
                new = names.get(int(new), new) if new and str(new).isdigit() else new
            old, new = ("" if v in (None, "None") else v for v in (old, new))
            if old == new or (entry.action == LogEntry.Action.CREATE and not new):
                continue
            entry.change_rows.append((name.replace("_", " "), old, new))
    return entries


_ACCOUNT_USER_FIELDS = frozenset({"entered_by", "verified_by"})
_HISTORY_HIDDEN = frozenset({"id", "created_at", "updated_at", "vendor"})


def clerk_queue_next(*, after: Invoice) -> Invoice | None:
    """The next invoice in the clerk's work queue after ``after`` (oldest work first)."""
    qs = Invoice.objects.filter(state__in=(Invoice.State.NEEDS_REVIEW, Invoice.State.EXCEPTION)).exclude(pk=after.pk)
    return (
        qs.filter(Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, pk__gt=after.pk))
        .order_by("created_at", "pk")
        .first()
        or qs.order_by("created_at", "pk").first()
    )
