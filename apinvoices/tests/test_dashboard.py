"""The dashboard's figures, its SVG charts, its query budget and the inbox CSV's filters."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent, InvoiceException
from apinvoices.reports import dashboard_get
from apinvoices.tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db
S = Invoice.State
DASHBOARD = reverse("apinvoices:dashboard")


def _posted_after(hours: int) -> Invoice:
    invoice = InvoiceFactory(state=S.POSTED, touched_by_human=False)
    start = timezone.now() - timedelta(days=10)
    InvoiceEvent.objects.create(invoice=invoice, kind=InvoiceEvent.Kind.RECEIVED, source="upload", created_at=start)
    InvoiceEvent.objects.create(invoice=invoice, kind=InvoiceEvent.Kind.STATE, source="erp", from_state=S.APPROVED,
                                to_state=S.POSTED, created_at=start + timedelta(hours=hours))
    return invoice


def test_touchless_rate_counts_approved_invoices_nobody_edited():
    InvoiceFactory.create_batch(3, state=S.APPROVED, touched_by_human=False)
    InvoiceFactory(state=S.PAID, touched_by_human=True)
    InvoiceFactory(state=S.NEEDS_REVIEW, touched_by_human=False)  # not approved: not counted

    data = dashboard_get()

    assert (data.approved_touchless, data.approved_total) == (3, 4)
    assert data.touchless_rate == Decimal("0.750")


def test_cycle_time_median_and_p90_from_receipt_and_posting_events():
    for hours in (1, 2, 3, 4, 5, 6, 7, 8, 9, 100):
        _posted_after(hours)

    cycle = dashboard_get().cycle

    assert cycle.count == 10
    assert cycle.median == timedelta(hours=5.5)
    assert cycle.p90 == timedelta(hours=9)  # nearest rank: the 9th of 10


def test_money_due_is_summed_per_currency_without_mixing():
    today = date(2026, 11, 25)
    InvoiceFactory(state=S.POSTED, currency="EUR", total_amount=Decimal("100.10"), due_date=today - timedelta(days=1))
    InvoiceFactory(state=S.APPROVED, currency="EUR", total_amount=Decimal("0.20"), due_date=today - timedelta(days=30))
    InvoiceFactory(state=S.POSTED, currency="USD", total_amount=Decimal("50.00"), due_date=today)
    InvoiceFactory(state=S.SCHEDULED, currency="USD", total_amount=Decimal("25.00"), due_date=today + timedelta(days=6))
    InvoiceFactory(state=S.POSTED, currency="USD", total_amount=Decimal("999.00"), due_date=today + timedelta(days=7))
    InvoiceFactory(state=S.PAID, currency="EUR", total_amount=Decimal("500.00"), due_date=today - timedelta(days=3))

    data = dashboard_get(today=today)

    assert data.overdue == {"EUR": Decimal("100.30")}
    assert data.due_this_week == {"USD": Decimal("75.00")}


def test_counts_by_state_and_open_exceptions_by_kind():
    first, second = InvoiceFactory.create_batch(2, state=S.EXCEPTION)
    InvoiceFactory(state=S.NEEDS_REVIEW)
    for invoice, kind in ((first, "duplicate"), (second, "duplicate"), (second, "dates")):
        InvoiceException.objects.create(invoice=invoice, kind=kind, severity="blocking", message="x")
    InvoiceException.objects.create(invoice=first, kind="currency", severity="warning", message="x",
                                    status=InvoiceException.Status.RESOLVED, resolved_at=timezone.now())

    data = dashboard_get()

    counts = {state: n for state, _label, n in data.by_state}
    assert counts[S.EXCEPTION] == 2 and counts[S.NEEDS_REVIEW] == 1 and counts[S.PAID] == 0
    assert [(k, n) for k, _label, n in data.exceptions_by_kind] == [("duplicate", 2), ("dates", 1)]


def test_dashboard_page_draws_svg_bars_and_keeps_its_query_budget(client, cast):
    client.force_login(cast.auditor)
    InvoiceFactory(state=S.APPROVED, touched_by_human=False)
    _posted_after(3)
    client.get(DASHBOARD)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        client.get(DASHBOARD)
    InvoiceFactory.create_batch(15, state=S.NEEDS_REVIEW)
    for _ in range(5):
        _posted_after(7)
    with CaptureQueriesContext(connection) as many:
        response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert len(many) == len(few)
    assert len(many) <= 12, [q["sql"] for q in many.captured_queries]
    body = response.content.decode()
    assert '<svg class="bar-chart"' in body and "<rect" in body
    assert 'data-kpi="cycle-median"' in body
    assert "<script" not in body.split("<main", 1)[1].split("</main>", 1)[0]


def test_inbox_csv_respects_the_inbox_filters(client, cast):
    wanted = InvoiceFactory(state=S.NEEDS_REVIEW, total_amount=Decimal("500.00"))
    InvoiceFactory(state=S.NEEDS_REVIEW, total_amount=Decimal("5.00"))
    InvoiceFactory(state=S.PAID, total_amount=Decimal("600.00"))
    client.force_login(cast.clerk)

    response = client.get(reverse("apinvoices:export_inbox_csv"), {"state": "needs_review", "amount_min": "100"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == [wanted.pk]
    assert rows[0]["total_amount"] == "500.00" and rows[0]["currency"] == "EUR"


def test_exception_csv_lists_open_exceptions_only(client, cast):
    invoice = InvoiceFactory(state=S.EXCEPTION)
    open_one = InvoiceException.objects.create(invoice=invoice, kind="dates", severity="blocking", message="due < issue")
    InvoiceException.objects.create(invoice=invoice, kind="currency", severity="warning", message="old",
                                    status=InvoiceException.Status.DISMISSED, resolved_at=timezone.now(),
                                    resolution_note="Known currency")
    client.force_login(cast.auditor)

    response = client.get(reverse("apinvoices:export_exceptions_csv"))

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [int(r["exception_id"]) for r in rows] == [open_one.pk]
    assert rows[0]["invoice_number"] == invoice.invoice_number
