"""The corpus report's judgement of whether a missed value is printed on the page at all."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apinvoices.tests.extraction.corpus_accuracy import truth_on_page, vendor_name_matches

PAGE = """Rechnung Nr. RE-20151008/504 von 08.10.2015
Total facture 24.99 5.00 29.99
Gesamtbetrag: 1.234,56 €
Invoice Date: August 3 , 2014
IBAN DE88 2008 0000 0970 3757 00
USt-ID: DE 136 695 976"""


@pytest.mark.parametrize(
    ("field", "want"),
    [
        ("invoice_number", "RE-20151008/504"),
        ("issue_date", date(2015, 10, 8)),
        ("issue_date", date(2014, 8, 3)),
        ("net_amount", Decimal("24.99")),
        ("total_amount", Decimal("1234.56")),
        ("vendor_iban", "DE88200800000970375700"),
        ("vendor_tax_id", "DE136695976"),
        ("currency", "EUR"),
    ],
)
def test_values_printed_in_any_format_are_found(field, want):
    assert truth_on_page(field, want, PAGE)


@pytest.mark.parametrize(
    ("field", "want"),
    [
        ("invoice_number", "RE-20201121/508"),
        ("issue_date", date(2014, 10, 8)),
        ("total_amount", Decimal("571.04")),
        ("vendor_iban", "FR2012421242124212421242124"),
        ("currency", "USD"),
    ],
)
def test_values_the_page_does_not_print_are_reported_as_such(field, want):
    assert not truth_on_page(field, want, PAGE)


def test_vendor_name_comparison_allows_a_contained_legal_name_only_from_four_letters():
    assert vendor_name_matches("Coolblue B.V.", ("Coolblue",))
    assert vendor_name_matches("4000001123452 Lieferant GmbH", ("Lieferant GmbH",))
    assert not vendor_name_matches("OYO", ("OYO Rooms",))
    assert not vendor_name_matches(None, ("Acme",))
