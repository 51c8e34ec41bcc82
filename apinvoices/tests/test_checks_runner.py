"""The check runner: findings become exceptions once, stale ones close, dismissals stick."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apinvoices.checks import invoice_run_checks
from apinvoices.models import InvoiceException, InvoiceTax
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory

pytestmark = pytest.mark.django_db
Kind, Status = InvoiceException.Kind, InvoiceException.Status


def test_consistent_invoice_has_no_findings():
    invoice = InvoiceFactory(net_amount=Decimal("100.00"), tax_amount=Decimal("19.00"), total_amount=Decimal("119.00"))
    InvoiceLineFactory(invoice=invoice, amount=Decimal("60.00"))
    InvoiceLineFactory(invoice=invoice, amount=Decimal("40.00"))
    outcome = invoice_run_checks(invoice=invoice)
    assert outcome.open_blocking == 0
    # The only note on a vendor's very first invoice is that it is the first.
    assert list(InvoiceException.objects.filter(invoice=invoice).values_list("key", flat=True)) == ["first_invoice"]


def test_net_plus_tax_not_total_is_blocking_with_the_numbers():
    invoice = InvoiceFactory(net_amount=Decimal("100.00"), tax_amount=Decimal("19.00"), total_amount=Decimal("120.00"))
    outcome = invoice_run_checks(invoice=invoice)
    exc = InvoiceException.objects.get(invoice=invoice, kind=Kind.ARITHMETIC)
    assert outcome.open_blocking == 1
    assert exc.key == "net+tax" and exc.params["difference"] == "-1.000"
    assert "119.00 EUR" in exc.message and "120.00 EUR" in exc.message


def test_one_cent_rounding_is_tolerated_but_jpy_is_exact():
    eur = InvoiceFactory(net_amount=Decimal("100.00"), tax_amount=Decimal("19.01"), total_amount=Decimal("119.00"))
    assert invoice_run_checks(invoice=eur).open_blocking == 0
    jpy = InvoiceFactory(currency="JPY", net_amount=Decimal("1000"), tax_amount=Decimal("100"), total_amount=Decimal("1102"))
    assert invoice_run_checks(invoice=jpy).open_blocking == 1


def test_lines_not_summing_to_net_is_found():
    invoice = InvoiceFactory()
    InvoiceLineFactory(invoice=invoice, amount=Decimal("60.00"))
    InvoiceLineFactory(invoice=invoice, amount=Decimal("30.00"))
    invoice_run_checks(invoice=invoice)
    exc = InvoiceException.objects.get(invoice=invoice, key="lines")
    assert exc.params == {"line_sum": "90.000", "net": "100.000"}


def test_tax_rate_inconsistent_with_base_is_found():
    invoice = InvoiceFactory()
    InvoiceTax.objects.create(invoice=invoice, rate=Decimal("19"), base_amount=Decimal("100"), tax_amount=Decimal("7"))
    invoice_run_checks(invoice=invoice)
    assert InvoiceException.objects.filter(invoice=invoice, key="rate:19").exists()


def test_missing_required_fields_each_raise_one_finding():
    invoice = InvoiceFactory(invoice_number="", total_amount=None)
    invoice_run_checks(invoice=invoice)
    keys = set(InvoiceException.objects.filter(invoice=invoice, kind=Kind.MISSING_FIELD).values_list("key", flat=True))
    assert keys == {"invoice_number", "total_amount"}


def test_running_twice_does_not_duplicate_and_fixing_closes():
    invoice = InvoiceFactory(total_amount=Decimal("120.00"))
    invoice_run_checks(invoice=invoice)
    second = invoice_run_checks(invoice=invoice)
    assert (second.opened, second.updated, second.closed) == (0, 0, 0)
    assert InvoiceException.objects.filter(invoice=invoice, kind=Kind.ARITHMETIC).count() == 1

    invoice.total_amount = Decimal("119.00")
    invoice.save()
    third = invoice_run_checks(invoice=invoice)
    exc = InvoiceException.objects.get(invoice=invoice, kind=Kind.ARITHMETIC)
    assert third.closed == 1 and exc.status == Status.RESOLVED and exc.resolved_at is not None


def test_dismissed_finding_stays_dismissed_until_its_numbers_change():
    invoice = InvoiceFactory(total_amount=Decimal("120.00"))
    invoice_run_checks(invoice=invoice)
    exc = InvoiceException.objects.get(invoice=invoice, kind=Kind.ARITHMETIC)
    exc.status, exc.resolution_note = Status.DISMISSED, "Vendor adds a 1 EUR fee in the total"
    from django.utils import timezone

    exc.resolved_at = timezone.now()
    exc.save()
    assert invoice_run_checks(invoice=invoice).opened == 0

    invoice.total_amount = Decimal("125.00")
    invoice.save()
    assert invoice_run_checks(invoice=invoice).opened == 1
