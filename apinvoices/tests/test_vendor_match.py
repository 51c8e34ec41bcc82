from __future__ import annotations

import pytest

from apinvoices.services.vendors import vendor_match
from apinvoices.tests.factories import VendorBankAccountFactory, VendorFactory

pytestmark = pytest.mark.django_db


def test_tax_id_wins_over_name():
    right = VendorFactory(name="Nordlicht Bürobedarf GmbH", tax_id="DE811907980")
    VendorFactory(name="Nordlicht Buerobedarf", tax_id="DE000000001")
    match = vendor_match(tax_id="DE811907980", name="Nordlicht Buerobedarf")
    assert (match.vendor, match.method) == (right, "tax_id")


def test_iban_matches_when_unique_and_not_when_shared():
    account = VendorBankAccountFactory(iban="DE89370400440532013000")
    assert vendor_match(iban="DE89370400440532013000").vendor == account.vendor
    VendorBankAccountFactory(iban="DE89370400440532013000")
    assert vendor_match(iban="DE89370400440532013000").vendor is None


def test_fuzzy_name_ignores_legal_form_and_case_but_not_other_words():
    vendor = VendorFactory(name="Atelier Marchand SARL")
    assert vendor_match(name="ATELIER MARCHAND").vendor == vendor
    miss = vendor_match(name="Boulangerie Dupont SARL")
    assert miss.vendor is None and miss.proposal == "Boulangerie Dupont SARL"
