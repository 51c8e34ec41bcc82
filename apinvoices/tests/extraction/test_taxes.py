"""VAT summaries and line items read from text PDFs: right when given, absent when not sure."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from apinvoices.demo.corpus import render_document
from apinvoices.demo.specs import LANGUAGES, LAYOUTS, random_spec
from apinvoices.extraction.pipeline import extract_document


def _rows(taxes):
    return sorted((t.rate.normalize(), abs(t.base), abs(t.amount)) for t in taxes)


def test_generated_summaries_are_read_right_or_not_at_all():
    rng = random.Random("tax-breakdown")
    read = 0
    for layout in LAYOUTS[:4]:
        for language in LANGUAGES:
            spec = random_spec(rng, language=language, layout=layout)
            result = extract_document(render_document(spec, "pdf", rng).content, filename="generated.pdf")
            if result.taxes:
                read += 1
                assert _rows(result.taxes) == _rows(spec.taxes), (layout, language)
                assert sum(t.amount for t in result.taxes) == result.value("tax_amount")
    # Several rates printed with their tax only ("VAT 21% 22.26 / VAT 9% 3.55") cannot give
    # exact bases and are left out; one rate or a table with bases is read.
    assert read >= 15, read  # 19 of these 28 at the time of writing


def test_a_vendor_table_with_two_rates(corpus_dir):
    path = corpus_dir / "zugferd-corpus/ZUGFeRDv1/correct/Mustangproject/MustangGnuaccountingBeispielRE-20150613_503.pdf"
    if not path.exists():
        pytest.skip(f"{path.name} not in the corpus")
    # The page's own summary (its embedded XML says otherwise; the text layer reads the page).
    result = extract_document(path.read_bytes(), filename=path.name, force="pdf_text")
    assert _rows(result.taxes) == [
        (Decimal("7"), Decimal("160.00"), Decimal("11.20")),
        (Decimal("19"), Decimal("198.00"), Decimal("37.62")),
    ]


def test_a_rate_column_printed_without_percent_signs(corpus_dir):
    path = corpus_dir / "zugferd-corpus/XML-Rechnung/FX/EN16931_Einfach.pdf"
    # "Art (Kategorie) ... Basisbetrag Steuersatz [%] Steuerbetrag" over
    # "Umsatzsteuer (S) 275,00 7 19,25": the rate column holds bare numbers.
    result = extract_document(path.read_bytes(), filename=path.name, force="pdf_text")
    assert _rows(result.taxes) == [
        (Decimal("7"), Decimal("275.00"), Decimal("19.25")),
        (Decimal("19"), Decimal("198.00"), Decimal("37.62")),
    ]


def test_a_row_printed_above_its_amount(corpus_dir):
    # "1 TB100A4 Trennblätter A4 9,9000 20 Stk 19 %" over "4012345001235 198,00": the
    # quantity and the four-decimal unit price come from the line above, where 20 × 9.90 is
    # the amount below.
    path = corpus_dir / "zugferd-corpus/XML-Rechnung/FX/EN16931_Einfach.pdf"
    result = extract_document(path.read_bytes(), filename=path.name, force="pdf_text")
    rows = [(line.quantity, line.unit_price, line.amount) for line in result.lines]
    assert rows == [
        (Decimal("20"), Decimal("9.9000"), Decimal("198.00")),
        (Decimal("50"), Decimal("5.5000"), Decimal("275.00")),
    ]
    assert result.lines[0].description.startswith("TB100A4 Trennblätter A4")
    assert result.lines[1].description.startswith("ARNR2 Joghurt Banane")
    assert "Joghurt" not in result.lines[0].description


def test_the_vat_summary_under_a_table_is_not_a_line(corpus_dir):
    # "Umsatzsteuer (S) 202,33 14,16" below the four travel-expense rows ends the table.
    path = corpus_dir / "zugferd-corpus/XML-Rechnung/FX/EN16931_Reisekostenabrechnung.pdf"
    result = extract_document(path.read_bytes(), filename=path.name, force="pdf_text")
    assert [line.amount for line in result.lines] == [
        Decimal("158.88"),
        Decimal("11.76"),
        Decimal("23.36"),
        Decimal("20.09"),
    ]
