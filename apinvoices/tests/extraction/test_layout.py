"""Layout rules on positioned words: lines, label/value pairs, totals and the buyer's block.

Pages are built from text placed at (x, y) in PDF points with a fixed character width, the
same shape of data pdfplumber and Tesseract produce.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from apinvoices.extraction.layout import Page, Word, extract_invoice, group_lines

CHAR = 5.0  # points per character
HEIGHT = 9.0


def words_at(x: float, y: float, text: str, page: int = 1, conf: float = 1.0) -> list[Word]:
    result = []
    pos = 0
    for token in text.split(" "):
        if token:
            x0 = x + pos * CHAR
            result.append(Word(token, x0, y, x0 + len(token) * CHAR, y + HEIGHT, page, conf))
        pos += len(token) + 1
    return result


def make_page(rows: list[tuple[float, float, str]], number: int = 1, conf: float = 1.0) -> Page:
    words = [w for x, y, text in rows for w in words_at(x, y, text, number, conf)]
    return Page(number=number, width=595.0, height=842.0, words=words)


def extract(rows, **kwargs):
    return extract_invoice([make_page(rows, **kwargs)], source="text", kind="pdf_text")


def test_group_lines_joins_words_on_a_baseline_and_splits_columns():
    words = (
        words_at(40, 100, "Invoice No:")
        + words_at(300, 101.5, "INV-0042")
        + words_at(40, 115, "Invoice Date:")
        + words_at(300, 115, "2024-03-04")
    )
    lines = group_lines(words)
    assert [line.text for line in lines] == ["Invoice No: INV-0042", "Invoice Date: 2024-03-04"]
    assert [s.text for s in lines[0].segments()] == ["Invoice No:", "INV-0042"]


def test_a_tall_heading_does_not_swallow_the_next_line():
    heading = [Word("INVOICE", 40, 40, 160, 70, 1)]
    words = heading + words_at(400, 45, "Acme GmbH") + words_at(400, 62, "Hauptstraße 1")
    texts = [line.text for line in group_lines(words)]
    assert "Hauptstraße 1" in texts


def test_value_right_of_label_and_below_label():
    result = extract(
        [
            (40, 60, "ACME Supplies Ltd"),
            (40, 120, "Invoice Number:"),
            (200, 120, "A-2024-117"),
            (40, 135, "Invoice Date:"),
            (200, 135, "12 March 2024"),
            (40, 170, "Due Date"),
            (200, 170, "PO Number"),
            (40, 182, "11 April 2024"),
            (200, 182, "PO-7781"),
            (300, 400, "Total"),
            (450, 400, "£1,200.00"),
        ]
    )
    assert result.value("invoice_number") == "A-2024-117"
    assert result.value("issue_date") == date(2024, 3, 12)
    assert result.value("due_date") == date(2024, 4, 11)
    assert result.value("po_number") == "PO-7781"
    assert result.value("total_amount") == Decimal("1200.00")
    assert result.value("currency") == "GBP"
    due = result.fields["due_date"]
    assert due.page == 1 and due.bbox.top >= 182 and due.bbox.x0 >= 40
    assert due.label == "Due Date"


def test_previous_balance_subtotal_and_amount_paid_are_never_the_total():
    result = extract(
        [
            (40, 100, "Invoice No: 5521"),
            (300, 500, "Previous balance"),
            (480, 500, "9,999.00"),
            (300, 515, "Subtotal"),
            (480, 515, "100.00"),
            (300, 530, "VAT 20%"),
            (480, 530, "20.00"),
            (300, 545, "Total"),
            (480, 545, "120.00"),
            (300, 560, "Amount paid"),
            (480, 560, "50.00"),
            (300, 575, "Amount due"),
            (480, 575, "120.00"),
        ]
    )
    assert result.value("total_amount") == Decimal("120.00")
    assert result.value("net_amount") == Decimal("100.00")
    assert result.value("tax_amount") == Decimal("20.00")


def test_net_plus_tax_equals_total_raises_confidence_and_a_mismatch_lowers_it():
    consistent = extract(
        [
            (300, 500, "Nettobetrag"),
            (480, 500, "1.000,00 €"),
            (300, 515, "MwSt 19%"),
            (480, 515, "190,00 €"),
            (300, 530, "Gesamtbetrag"),
            (480, 530, "1.190,00 €"),
        ]
    )
    inconsistent = extract(
        [
            (300, 500, "Nettobetrag"),
            (480, 500, "1.000,00 €"),
            (300, 515, "MwSt 19%"),
            (480, 515, "190,00 €"),
            (300, 530, "Gesamtbetrag"),
            (480, 530, "1.290,00 €"),
        ]
    )
    for name in ("net_amount", "tax_amount", "total_amount"):
        assert consistent.fields[name].confidence >= 0.9
        assert inconsistent.fields[name].confidence < 0.8
        assert inconsistent.fields[name].confidence < consistent.fields[name].confidence
    assert consistent.value("total_amount") == Decimal("1190.00")


def test_total_row_is_read_through_the_column_headers():
    result = extract(
        [
            (40, 300, "Désignation"),
            (250, 300, "Montant HT"),
            (350, 300, "Montant TVA"),
            (450, 300, "Montant TTC"),
            (40, 315, "Abonnement"),
            (250, 315, "24.99"),
            (350, 315, "5.00"),
            (450, 315, "29.99"),
            (40, 330, "Total facture"),
            (250, 330, "24.99"),
            (350, 330, "5.00"),
            (450, 330, "29.99"),
        ]
    )
    assert result.value("net_amount") == Decimal("24.99")
    assert result.value("tax_amount") == Decimal("5.00")
    assert result.value("total_amount") == Decimal("29.99")


def test_buyer_vat_id_and_iban_in_the_bill_to_block_are_not_the_vendors():
    result = extract(
        [
            (40, 40, "Lieferant GmbH"),
            (40, 52, "USt-IdNr: DE136695976"),
            (40, 120, "Rechnungsempfänger"),
            (40, 132, "Kunden AG"),
            (40, 144, "USt-IdNr: DE232446240"),
            (40, 156, "IBAN DE30 5075 0094 0000 0485 67"),
            (40, 300, "Rechnungsnummer: R-1"),
            (40, 700, "Bankverbindung: IBAN DE89 3704 0044 0532 0130 00"),
        ]
    )
    assert result.value("vendor_tax_id") == "DE136695976"
    assert result.value("vendor_iban") == "DE89370400440532013000"
    assert result.fields["vendor_iban"].confidence >= 0.9
    assert result.fields["vendor_tax_id"].confidence >= 0.9


def test_your_vat_number_and_direct_debit_account_are_the_buyers():
    result = extract(
        [
            (40, 40, "e-Luscious Nederland B.V."),
            (40, 300, "Uw BTW nummer: NL810433941B01"),
            (40, 700, "Het bedrag wordt via incasso afgeschreven van uw rekening"),
            (40, 712, "IBAN NL91ABNA0417164300"),
        ]
    )
    assert result.value("vendor_tax_id") is None
    assert result.value("vendor_iban") is None


def test_checksum_failing_iban_is_kept_at_low_confidence():
    result = extract([(40, 700, "IBAN: DE12 1234 5678 9012 3456 78")])
    assert result.value("vendor_iban") == "DE12123456789012345678"
    assert result.fields["vendor_iban"].confidence < 0.5


def test_two_different_vendor_ibans_lower_confidence():
    result = extract(
        [
            (40, 700, "IBAN DE89 3704 0044 0532 0130 00"),
            (40, 715, "IBAN DE30 5075 0094 0000 0485 67"),
        ]
    )
    assert result.fields["vendor_iban"].confidence < 0.9


def test_due_date_from_payment_terms_when_no_due_date_is_printed():
    result = extract(
        [
            (40, 100, "Factuurnummer: 2024-88"),
            (40, 115, "Factuurdatum: 15-01-2024"),
            (40, 600, "Te betalen binnen 30 dagen na factuurdatum."),
        ]
    )
    assert result.value("issue_date") == date(2024, 1, 15)
    assert result.value("due_date") == date(2024, 2, 14)
    assert result.fields["due_date"].confidence < 0.9
    assert "30 dagen" in result.value("payment_terms")


def test_us_dates_are_read_month_first_when_the_page_says_so():
    result = extract(
        [
            (40, 100, "Invoice #: 1001"),
            (40, 115, "Invoice Date: 03/04/2024"),
            (40, 130, "Due Date: 04/18/2024"),
            (300, 500, "Amount Due"),
            (480, 500, "$250.00"),
        ]
    )
    assert result.value("issue_date") == date(2024, 3, 4)
    assert result.value("due_date") == date(2024, 4, 18)


def test_credit_note_is_recognised():
    result = extract([(40, 60, "Gutschrift"), (40, 100, "Gutschrift Nr. GS-17")])
    assert result.value("document_type") == "credit_note"
    assert result.value("invoice_number") == "GS-17"


def test_ocr_word_confidence_lowers_field_confidence():
    rows = [(40, 100, "Invoice Number: 4711"), (300, 500, "Total"), (480, 500, "99.00 EUR")]
    clean = extract_invoice([make_page(rows)], source="text", kind="pdf_text")
    shaky = extract_invoice([make_page(rows, conf=0.55)], source="ocr", kind="ocr")
    assert shaky.value("invoice_number") == clean.value("invoice_number")
    assert shaky.fields["invoice_number"].confidence < clean.fields["invoice_number"].confidence
    assert shaky.fields["invoice_number"].source == "ocr"


def test_line_items_table():
    result = extract(
        [
            (40, 300, "Description"),
            (300, 300, "Qty"),
            (360, 300, "Unit price"),
            (460, 300, "Amount"),
            (40, 315, "Office chair"),
            (300, 315, "2"),
            (360, 315, "70.00"),
            (460, 315, "140.00"),
            (40, 327, "ergonomic, black"),
            (40, 340, "Beeswax XL"),
            (300, 340, "1"),
            (360, 340, "42.00"),
            (460, 340, "42.00"),
            (300, 380, "Subtotal"),
            (460, 380, "182.00"),
        ]
    )
    assert [line.description for line in result.lines] == [
        "Office chair\nergonomic, black",
        "Beeswax XL",
    ]
    assert [line.amount for line in result.lines] == [Decimal("140.00"), Decimal("42.00")]
    assert result.lines[0].quantity == Decimal(2)
    assert result.lines[0].unit_price == Decimal("70.00")


def test_absent_fields_are_absent_not_zero():
    result = extract([(40, 100, "Hello world, nothing to see here")])
    for name in ("total_amount", "net_amount", "invoice_number", "vendor_iban"):
        assert name not in result.fields


def test_a_currency_label_makes_the_currency_certain():
    labelled = extract([(40, 100, "Währung: EUR"), (300, 500, "Gesamtbetrag"), (480, 500, "10,00")])
    once = extract([(40, 100, "Betrag EUR"), (300, 500, "Gesamtbetrag"), (480, 500, "10,00")])
    assert labelled.value("currency") == once.value("currency") == "EUR"
    assert labelled.fields["currency"].confidence >= 0.95
    assert once.fields["currency"].confidence < 0.9


def test_a_stated_currency_outweighs_symbols_that_contradict_it_but_not_to_certainty():
    # A misread "$" (the German OCR model read the VAT category "(S)" of an FX page so, before
    # ``ocr._mend_misreads``) does not outvote the currency the page states.
    result = extract(
        [
            (40, 100, "Währung: EUR"),
            (40, 400, "Umsatzsteuer ($) 275,00 19,25"),
            (40, 420, "Umsatzsteuer ($) 198,00 37,62"),
            (300, 500, "Gesamtbetrag"),
            (480, 500, "10,00"),
        ]
    )
    assert result.value("currency") == "EUR"
    assert 0.5 <= result.fields["currency"].confidence < 0.9


def test_line_items_under_german_headers_with_a_vat_rate_column():
    # The Mustang/GnuAccounting layout of the corpus: "USt." bounds the description.
    result = extract(
        [
            (40, 300, "Menge"),
            (90, 300, "Produkt"),
            (300, 300, "USt."),
            (360, 300, "Preis"),
            (460, 300, "Gesamtbetrag"),
            (40, 315, "1,00"),
            (90, 315, "Künstlerische Gestaltung"),
            (300, 315, "7%"),
            (360, 315, "160,00 €"),
            (460, 315, "160,00 €"),
            (40, 330, "400,00"),
            (90, 330, "Luftballon: Bunt"),
            (300, 330, "19%"),
            (360, 330, "0,79 €"),
            (460, 330, "316,00 €"),
            (300, 370, "Nettobetrag:"),
            (460, 370, "476,00 €"),
        ]
    )
    rows = [(line.description, line.quantity, line.unit_price, line.amount) for line in result.lines]
    assert rows == [
        ("Künstlerische Gestaltung", Decimal("1.00"), Decimal("160.00"), Decimal("160.00")),
        ("Luftballon: Bunt", Decimal("400.00"), Decimal("0.79"), Decimal("316.00")),
    ]
