"""Every layout prints the fields extraction needs, in the language's own formats."""

from __future__ import annotations

import io
import random
import re

import pdfplumber
import pytest

from apinvoices.demo import specs
from apinvoices.demo.localize import format_date, format_number, label
from apinvoices.demo.render_pdf import render_pdf


def _text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# One vendor per language so that every layout is seen with several label sets and formats.
_LANG_VENDOR = {
    "de": "Nordlicht Bürobedarf GmbH",
    "fr": "Atelier Marchand SARL",
    "nl": "Van der Berg ICT Diensten B.V.",
    "es": "Soluciones Iberia Consultores S.L.",
    "it": "Tecnoservizi Lombardi S.r.l.",
    "en_GB": "Pennine Stationery Ltd",
    "en_US": "Bluegrass Office Supply Inc.",
}


@pytest.mark.parametrize("layout", specs.LAYOUTS)
def test_layout_prints_number_total_and_both_tax_ids(layout):
    languages = list(_LANG_VENDOR)
    rng = random.Random(layout)
    for language in (languages[specs.LAYOUTS.index(layout) % 7],
                     languages[(specs.LAYOUTS.index(layout) + 3) % 7]):
        vendor = specs.VENDOR_PROFILES[_LANG_VENDOR[language]].party
        spec = specs.random_spec(rng, layout=layout, language=language, vendor=vendor,
                                 document_type="invoice", line_count=4)
        pages = _text(render_pdf(spec))
        text = _squash("\n".join(pages))
        assert _squash(spec.number) in text
        assert _squash(format_number(spec.total_amount, language, spec.currency)) in text
        assert _squash(format_date(spec.issue_date, language, spec.date_style)) in text
        assert _squash(spec.vendor.tax_id_display) in text
        assert _squash(spec.buyer.tax_id_display) in text
        assert _squash(spec.buyer.name) in text
        if spec.vendor.iban:
            assert _squash(spec.vendor.iban) in text
        assert spec.vendor.name.split()[0].lower() in pages[0].lower()


def test_labels_named_in_each_language_appear():
    expected = {
        ("de", "classic"): ["Rechnungsnummer", "Rechnungsdatum", "Gesamtbetrag"],
        ("fr", "statement"): ["Facture n°", "Total TTC"],
        ("nl", "classic"): ["Factuurnummer", "Totaal"],
        ("es", "statement"): ["Nº de factura", "Importe total"],
        ("it", "classic"): ["Fattura n.", "Totale"],
        ("en_US", "statement"): ["Invoice #", "Amount Due", "Bill To"],
    }
    rng = random.Random(9)
    for (language, layout), words in expected.items():
        spec = specs.random_spec(rng, layout=layout, language=language, document_type="invoice",
                                 vendor=specs.VENDOR_PROFILES[_LANG_VENDOR[language]].party)
        text = "\n".join(_text(render_pdf(spec)))
        for word in words:
            assert word in text, (language, layout, word)


def test_many_lines_break_onto_numbered_pages_with_totals_last():
    spec = specs.random_spec(random.Random(2), layout="banded", language="de", line_count=40,
                             vendor=specs.VENDOR_PROFILES[_LANG_VENDOR["de"]].party,
                             document_type="invoice")
    pages = _text(render_pdf(spec))
    assert len(pages) >= 2
    total = format_number(spec.total_amount, "de", spec.currency)
    assert total in pages[-1] and total not in pages[0]
    assert f"Seite 1 von {len(pages)}" in pages[0]
    assert label("de", "carried") in pages[0]
    # Every line description is printed somewhere.
    flat = _squash("".join(pages))
    assert all(_squash(line.description) in flat for line in spec.lines)


def test_credit_note_is_titled_as_such_and_amounts_are_negative():
    spec = specs.random_spec(random.Random(4), layout="modern", language="fr",
                             document_type="credit_note",
                             vendor=specs.VENDOR_PROFILES[_LANG_VENDOR["fr"]].party)
    text = "\n".join(_text(render_pdf(spec)))
    assert "AVOIR" in text
    assert "-" + format_number(spec.total_amount, "fr", "EUR") in text
    assert spec.original_invoice_number in text


def test_rendering_is_deterministic():
    spec = specs.random_spec(random.Random(8), layout="sidebar")
    assert render_pdf(spec) == render_pdf(spec)
