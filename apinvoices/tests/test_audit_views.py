"""The auditor's search over events and field changes, and one invoice's printable history."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apinvoices.audit import audit_actor
from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.tests.factories import InvoiceFactory, VendorFactory

pytestmark = pytest.mark.django_db
E = InvoiceEvent.Kind
S = Invoice.State


def _lived(invoice, cast, *, start=None):
    """A clerk edits the total, an approver approves, the ERP posts, the bank pays."""
    start = start or timezone.now() - timedelta(days=2)
    InvoiceEvent.objects.create(invoice=invoice, kind=E.RECEIVED, source="upload", created_at=start)
    invoice.refresh_from_db()  # as a view would load it: stored Decimals, not the factory's
    with audit_actor(cast.clerk):
        invoice.total_amount = Decimal("120.00")
        invoice.save()
    InvoiceEvent.objects.create(invoice=invoice, kind=E.FIELD_EDIT, actor=cast.clerk, message="total 119.00 → 120.00",
                                created_at=start + timedelta(hours=1))
    InvoiceEvent.objects.create(invoice=invoice, kind=E.APPROVAL, actor=cast.second_approver,
                                on_behalf_of=cast.approver, from_state=S.AWAITING_APPROVAL, to_state=S.APPROVED,
                                message="Approved", created_at=start + timedelta(hours=2))
    InvoiceEvent.objects.create(invoice=invoice, kind=E.POSTING, source="erp:file", from_state=S.APPROVED,
                                to_state=S.POSTED, message="Posted as BILL-7", created_at=start + timedelta(hours=3))
    InvoiceEvent.objects.create(invoice=invoice, kind=E.PAYMENT, source="camt054", from_state=S.SCHEDULED,
                                to_state=S.PAID, message="Paid 120.00 EUR", created_at=start + timedelta(hours=4))


def _rows(response):
    return list(response.context["page"].object_list)


def test_search_by_user_invoice_vendor_and_dates(client, cast):
    mine = InvoiceFactory(vendor=VendorFactory(name="Needle Supplies"), vendor_name="Needle Supplies")
    other = InvoiceFactory()
    _lived(mine, cast)
    _lived(other, cast, start=timezone.now() - timedelta(days=40))
    client.force_login(cast.auditor)
    url = reverse("apinvoices:audit")

    by_user = _rows(client.get(url, {"user": "approver"}))
    assert {e.invoice_id for e in by_user} == {mine.pk, other.pk} and all(e.kind == E.APPROVAL for e in by_user)
    assert {e.invoice_id for e in _rows(client.get(url, {"vendor": "needle"}))} == {mine.pk}
    assert {e.invoice_id for e in _rows(client.get(url, {"invoice": mine.invoice_number}))} == {mine.pk}
    recent = _rows(client.get(url, {"date_from": (timezone.localdate() - timedelta(days=7)).isoformat()}))
    assert {e.invoice_id for e in recent} == {mine.pk}

    changes = _rows(client.get(url, {"show": "changes", "invoice": str(mine.pk)}))
    assert changes and all(c.object_id == mine.pk for c in changes)
    assert any("total_amount" in (c.changes_dict or {}) and c.actor == cast.clerk for c in changes)


def test_search_is_paginated(client, cast):
    invoice = InvoiceFactory()
    for i in range(60):
        InvoiceEvent.objects.create(invoice=invoice, kind=E.NOTE, actor=cast.clerk, message=f"note {i}")
    client.force_login(cast.auditor)

    first = client.get(reverse("apinvoices:audit"), {"invoice": str(invoice.pk)})
    second = client.get(reverse("apinvoices:audit"), {"invoice": str(invoice.pk), "page": 2})

    assert first.context["page"].paginator.count == 60
    assert len(_rows(first)) == 50 and len(_rows(second)) == 10
    assert 'page=2' in first.content.decode()


def test_history_page_and_csv_show_every_change_decision_posting_and_payment(client, cast):
    invoice = InvoiceFactory(total_amount=Decimal("119.00"))
    _lived(invoice, cast)
    client.force_login(cast.auditor)

    page = client.get(reverse("apinvoices:invoice_history", kwargs={"pk": invoice.pk}))
    body = page.content.decode()
    assert page.status_code == 200
    for text in ("Approved", "approver2 (for approver)", "Posted as BILL-7", "Paid 120.00 EUR", "erp:file",
                 "total_amount"):
        assert text in body, text

    response = client.get(reverse("apinvoices:invoice_history_csv", kwargs={"pk": invoice.pk}))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    kinds = [r["what"] for r in rows]
    for wanted in ("event:received", "event:approval", "event:posting", "event:payment", "change:invoice"):
        assert wanted in kinds, wanted
    edits = [r for r in rows if r["what"] == "change:invoice" and r["actor"] == "clerk"]
    assert len(edits) == 1 and edits[0]["details"] == "total_amount: 119.000 → 120.00"
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)


def test_history_query_count_does_not_grow_with_history(client, cast):
    invoice = InvoiceFactory()
    _lived(invoice, cast)
    client.force_login(cast.auditor)
    url = reverse("apinvoices:invoice_history", kwargs={"pk": invoice.pk})
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(20):
        InvoiceEvent.objects.create(invoice=invoice, kind=E.NOTE, actor=cast.clerk, message=f"n{i}")
        with audit_actor(cast.clerk):
            invoice.payment_terms = f"net {i}"
            invoice.save()
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_audit_trail_is_in_the_navigation_of_those_who_may_read_it(client, cast):
    inbox, approvals = reverse("apinvoices:inbox"), reverse("approvals:my_approvals")
    for user, page, shown in ((cast.auditor, inbox, True), (cast.clerk, inbox, False),
                              (cast.approver, approvals, False)):
        client.force_login(user)
        keys = [item["key"] for item in client.get(page).context["nav_items"]]
        assert ("audit" in keys) is shown, user.username
    client.force_login(cast.auditor)
    assert client.get(reverse("apinvoices:audit")).context["nav_current"] == "audit"
