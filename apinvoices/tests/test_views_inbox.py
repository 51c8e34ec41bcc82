"""The inbox page: filters, tabs, htmx partial and a fixed query budget."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceException
from apinvoices.tests.factories import InvoiceFactory, VendorFactory

pytestmark = pytest.mark.django_db
INBOX = reverse("apinvoices:inbox")


def _rows(response) -> list[Invoice]:
    return list(response.context["page"].object_list)


def test_inbox_lists_invoices_with_amount_currency_and_state(client, cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, total_amount=Decimal("1234.5"), currency="EUR")
    client.force_login(cast.clerk)

    response = client.get(INBOX)

    assert response.status_code == 200
    body = response.content.decode()
    assert invoice.invoice_number in body
    assert "1,234.50&nbsp;<span class=\"ccy\">EUR</span>" in body
    assert 'class="badge state-badge state-needs_review"' in body


def test_state_tab_filters_and_counts_come_from_one_aggregate(client, cast):
    InvoiceFactory.create_batch(2, state=Invoice.State.NEEDS_REVIEW)
    InvoiceFactory(state=Invoice.State.PAID)
    client.force_login(cast.clerk)

    response = client.get(INBOX, {"state": "needs_review"})

    assert {i.state for i in _rows(response)} == {"needs_review"}
    tabs = {t["value"]: t["count"] for t in response.context["tabs"]}
    assert tabs["needs_review"] == 2
    assert tabs["paid"] == 1
    assert tabs[""] == 3
    assert tabs["work"] == 2


def test_open_work_tab_shows_every_clerk_state_and_nothing_else(client, cast):
    work = [InvoiceFactory(state=s) for s in Invoice.CLERK_WORK_STATES]
    InvoiceFactory(state=Invoice.State.AWAITING_APPROVAL)
    client.force_login(cast.clerk)

    response = client.get(INBOX, {"state": "work"})

    assert {i.pk for i in _rows(response)} == {i.pk for i in work}


def test_search_matches_number_ignoring_punctuation_and_vendor_name(client, cast):
    acme = VendorFactory(name="ACME Office Supplies")
    hit_number = InvoiceFactory(invoice_number="RE-2024/0815", invoice_number_normalized="RE20240815")
    hit_vendor = InvoiceFactory(vendor=acme)
    InvoiceFactory(invoice_number="OTHER-1")
    client.force_login(cast.clerk)

    assert [i.pk for i in _rows(client.get(INBOX, {"q": "re 2024 0815"}))] == [hit_number.pk]
    assert [i.pk for i in _rows(client.get(INBOX, {"q": "acme office"}))] == [hit_vendor.pk]


def test_a_search_shorter_than_three_characters_is_refused_with_a_hint(client, cast):
    """The guard against a full-table search that narrows nothing: the list stays unfiltered
    and the clerk is told why, instead of the page scanning every invoice for "a"."""
    InvoiceFactory(invoice_number="A-1")
    InvoiceFactory(invoice_number="B-2")
    client.force_login(cast.clerk)

    response = client.get(INBOX, {"q": "a"})

    assert len(_rows(response)) == 2
    body = response.content.decode()
    assert "Some filters were ignored" in body
    assert "at least 3 characters" in body
    assert [i.invoice_number for i in _rows(client.get(INBOX, {"q": "a-1"}))] == ["A-1"]


def test_filters_by_vendor_date_range_and_amount_range(client, cast):
    vendor = VendorFactory()
    today = date.today()
    inside = InvoiceFactory(vendor=vendor, issue_date=today - timedelta(days=3), total_amount=Decimal("500"))
    InvoiceFactory(vendor=vendor, issue_date=today - timedelta(days=40), total_amount=Decimal("500"))
    InvoiceFactory(vendor=vendor, issue_date=today - timedelta(days=3), total_amount=Decimal("5000"))
    InvoiceFactory(issue_date=today - timedelta(days=3), total_amount=Decimal("500"))
    client.force_login(cast.clerk)

    response = client.get(INBOX, {
        "vendor": vendor.pk,
        "issued_from": (today - timedelta(days=10)).isoformat(),
        "issued_to": today.isoformat(),
        "amount_min": "100",
        "amount_max": "1000.00",
    })

    assert [i.pk for i in _rows(response)] == [inside.pk]


def test_invalid_filter_values_are_ignored_and_reported_not_a_server_error(client, cast):
    InvoiceFactory()
    client.force_login(cast.clerk)

    response = client.get(INBOX, {"issued_from": "yesterday", "amount_min": "lots", "vendor": "999999"})

    assert response.status_code == 200
    assert len(_rows(response)) == 1
    assert "Some filters were ignored" in response.content.decode()


def test_htmx_request_gets_only_the_results_fragment(client, cast):
    InvoiceFactory()
    client.force_login(cast.clerk)

    full = client.get(INBOX)
    partial = client.get(INBOX, headers={"HX-Request": "true"})

    assert b"<html" in full.content and b'id="inbox-filters"' in full.content
    assert b"<html" not in partial.content and b'id="inbox-filters"' not in partial.content
    assert b"data-keyboard-rows" in partial.content


def test_pages_hold_fifty_rows(client, cast):
    InvoiceFactory.create_batch(51)
    client.force_login(cast.clerk)

    first = client.get(INBOX)
    second = client.get(INBOX, {"page": 2})

    assert len(_rows(first)) == 50
    assert len(_rows(second)) == 1


def test_open_exception_count_counts_only_open_ones(client, cast):
    invoice = InvoiceFactory(state=Invoice.State.EXCEPTION)
    InvoiceException.objects.create(invoice=invoice, kind="arithmetic", key="a", severity="blocking", message="x")
    InvoiceException.objects.create(invoice=invoice, kind="dates", key="b", severity="warning", message="y")
    InvoiceException.objects.create(
        invoice=invoice, kind="currency", key="c", severity="warning", message="z",
        status="resolved", resolved_at=timezone.now(),
    )
    client.force_login(cast.clerk)

    (row,) = _rows(client.get(INBOX))

    assert row.open_exception_count == 2


def test_empty_inbox_tells_what_to_do_next(client, cast):
    client.force_login(cast.clerk)

    body = client.get(INBOX).content.decode()

    assert "No invoices yet." in body
    assert "upload" in body


def _with_exceptions(n: int) -> None:
    vendors = VendorFactory.create_batch(3)
    for i in range(n):
        invoice = InvoiceFactory(vendor=vendors[i % 3], state=Invoice.State.EXCEPTION, min_confidence=Decimal("0.5"))
        InvoiceException.objects.create(invoice=invoice, kind="dates", key="k", severity="warning", message="m")


# session, user, the user's groups (roles, once per request), navigation counts, vendor choices
# of the filter form, tab counts (which also give the paginator its total), the page of rows.
INBOX_QUERIES = 7


@pytest.mark.parametrize("n", [5, 60])
def test_inbox_query_count_is_fixed(client, cast, django_assert_num_queries, n):
    _with_exceptions(n)
    client.force_login(cast.clerk)

    with django_assert_num_queries(INBOX_QUERIES):
        response = client.get(INBOX, {"state": "exception", "q": "INV"})

    assert len(_rows(response)) == min(n, 50)


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "99999"},
        {"page": "-1"},
        {"state": "no-such-state"},
        {"q": "x" * 500},
        {"q": "'; DROP TABLE apinvoices_invoice; --"},
        {"amount_min": "1e400"},
        {"amount_min": "NaN"},
        {"issued_from": "2024-02-30"},
        {"issued_from": "2024-06-01", "issued_to": "2024-01-01"},
        {"vendor": "<script>alert(1)</script>"},
    ],
)
def test_bad_query_parameters_never_break_the_inbox(client, cast, params):
    InvoiceFactory()
    client.force_login(cast.clerk)

    response = client.get(INBOX, params)

    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert Invoice.objects.count() == 1


def test_non_numeric_ids_in_paths_are_404(client, cast):
    client.force_login(cast.clerk)

    assert client.get("/invoices/abc/").status_code == 404
    assert client.get("/documents/1e3/original/").status_code == 404
