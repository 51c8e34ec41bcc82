"""The generated invoices are arithmetically sound, their IDs valid, and seeds reproducible."""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from schwifty import IBAN
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.us import ein, rtn

from apinvoices.demo import specs
from apinvoices.demo.corpus import GROUND_TRUTH_COLUMNS, ground_truth_row
from apinvoices.demo.localize import format_date, format_money, format_number


def _vat_valid(vat_id: str) -> bool:
    if vat_id.startswith("GB"):
        return gb_vat.is_valid(vat_id)
    if vat_id.startswith("CHE"):
        return ch_vat.is_valid(vat_id)
    return eu_vat.is_valid(vat_id)


@pytest.mark.parametrize(
    "party", [*specs.DEMO_VENDORS, *specs.BUYERS.values()], ids=lambda p: p.name
)
def test_party_identifiers_pass_their_checksums(party):
    if party.country == "US":
        assert ein.is_valid(party.ein)
        assert not party.vat_id
    else:
        assert _vat_valid(party.vat_id), party.vat_id
        # The printed form parses back to the same ID.
        assert _vat_valid(party.tax_id_display)
    if party in specs.DEMO_VENDORS:
        if party.country == "US":
            assert rtn.is_valid(party.routing_number)
            assert party.account_number.isdigit()
        else:
            iban = IBAN(party.iban)  # raises on a bad checksum or national check digit
            assert iban.country_code == party.country
            assert party.bic and str(iban.bic)[:6] == party.bic[:6]


def test_demo_vendors_cover_every_country_and_language():
    assert len(specs.DEMO_VENDORS) >= 20
    assert len({v.name for v in specs.DEMO_VENDORS}) == len(specs.DEMO_VENDORS)
    assert {v.country for v in specs.DEMO_VENDORS} >= {"DE", "FR", "NL", "ES", "IT", "GB", "US"}
    assert {p.language for p in specs.VENDOR_PROFILES.values()} == set(specs.LANGUAGES)


def test_random_specs_are_arithmetically_consistent():
    rng = random.Random(11)
    seen_rates, seen_types, seen_traps = set(), set(), 0
    for _ in range(300):
        spec = specs.random_spec(rng)
        assert 1 <= len(spec.lines) <= 45
        for line in spec.lines:
            assert line.net_amount == specs.quantize_amount(
                line.quantity * line.unit_price, spec.currency)
            assert line.unit_price == line.unit_price.quantize(Decimal("0.01"))
        assert spec.net_amount == sum(line.net_amount for line in spec.lines)
        assert sum(t.base for t in spec.taxes) == spec.net_amount
        for tax in spec.taxes:
            assert tax.amount == specs.quantize_amount(tax.base * tax.rate / 100, spec.currency)
            seen_rates.add((spec.vendor.country, tax.rate))
        assert spec.tax_amount == sum(t.amount for t in spec.taxes)
        assert spec.total_amount == spec.net_amount + spec.tax_amount
        assert spec.total_amount.as_tuple().exponent == -2
        if spec.due_date:
            assert spec.due_date >= spec.issue_date
        else:
            assert spec.is_credit_note
        assert spec.buyer.name != spec.vendor.name
        seen_types.add(spec.document_type)
        seen_traps += bool(spec.amount_paid or spec.previous_balance)
    assert {("DE", Decimal("19")), ("DE", Decimal("7")), ("FR", Decimal("20")),
            ("FR", Decimal("5.5")), ("NL", Decimal("21")), ("IT", Decimal("22"))} <= seen_rates
    assert seen_types == {"invoice", "credit_note"}
    assert seen_traps > 5


def test_overrides_are_respected():
    vendor = specs.DEMO_VENDORS[4]
    spec = specs.random_spec(random.Random(1), language="nl", layout="grid", currency="CHF",
                             vendor=vendor, line_count=7, document_type="invoice")
    assert (spec.language, spec.layout, spec.currency, spec.vendor) == ("nl", "grid", "CHF",
                                                                        vendor)
    assert len(spec.lines) == 7
    assert spec.document_type == "invoice"


def test_einvoice_specs_only_use_eu_vat_vendors():
    rng = random.Random(5)
    countries = {specs.random_spec(rng, einvoice=True).vendor.country for _ in range(80)}
    assert countries and countries <= {"DE", "FR", "NL", "ES", "IT"}


def _ground_truth_csv(seed: int) -> bytes:
    rng = random.Random(seed)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=GROUND_TRUTH_COLUMNS)
    writer.writeheader()
    for i in range(40):
        spec = specs.random_spec(rng)
        writer.writerow(ground_truth_row(spec, file=f"{i}.pdf", kind="pdf", pages=1))
    return buf.getvalue().encode()


def test_the_same_seed_gives_identical_ground_truth():
    assert _ground_truth_csv(3) == _ground_truth_csv(3)
    assert _ground_truth_csv(3) != _ground_truth_csv(4)


def test_localized_formats():
    value = Decimal("1234.5")
    assert format_number(value, "de") == "1.234,50"
    assert format_number(value, "en_US") == "1,234.50"
    assert format_number(value, "fr") == "1 234,50"
    assert format_number(value, "de", "CHF") == "1'234.50"
    assert format_money(value, "en_GB", "GBP") == "£1,234.50"
    assert format_money(value, "de", "EUR") == "1.234,50 €"
    assert format_money(value, "nl", "EUR") == "€ 1.234,50"
    assert format_money(Decimal("-5"), "en_US", "USD") == "-$5.00"
    day = date(2025, 4, 3)
    assert format_date(day, "de") == "03.04.2025"
    assert format_date(day, "en_GB") == "03/04/2025"
    assert format_date(day, "en_US") == "04/03/2025"
    assert format_date(day, "fr", "long") == "3 avril 2025"
    assert format_date(day, "nl", "long") == "3 april 2025"
    assert format_date(day, "es", "long") == "3 de abril de 2025"
    assert format_date(day, "it", "iso") == "2025-04-03"


def test_demo_package_does_not_import_django():
    code = ("import sys, apinvoices.demo.corpus; "
            "sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
