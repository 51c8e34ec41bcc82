"""Traps of real layouts the label rules once fell into, on positioned words and on generated
PDFs (``apinvoices.demo``, fixed seeds that were not used to tune the rules)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from apinvoices.tests.extraction.test_layout import extract


def test_invoice_date_named_in_payment_terms_is_not_the_issue_date():
    result = extract(
        [
            (40, 60, "Pennine Stationery Ltd"),
            (40, 90, "Invoice Ref.: INV057276"),
            (40, 105, "Tax Point: 27 February 2025"),
            (40, 120, "Due Date: 28 April 2025"),
            (40, 300, "Total net: GBP 1,470.00"),
            (40, 315, "VAT 20%: GBP 294.00"),
            (40, 330, "Total (inc. VAT): GBP 1,764.00"),
            (40, 360, "Payment Terms: Payment within 60 days of invoice date (Due Date: 28 April 2025)"),
        ]
    )
    assert result.value("issue_date") == date(2025, 2, 27)
    assert result.value("due_date") == date(2025, 4, 28)


def test_terms_reference_followed_by_the_due_date_column_is_not_the_issue_date():
    # A row of column values where the terms cell ends with "factuurdatum." and the next cell
    # holds the due date.
    result = extract(
        [
            (40, 60, "Kantoorhuis De Vries"),
            (40, 80, "Factuurdatum Factuurnummer"),
            (40, 92, "06-09-2025 2025-47761"),
            (40, 200, "Betalingsvoorwaarden Vervaldatum"),
            (40, 212, "Betaling binnen 30 dagen na factuurdatum. 06-10-2025"),
            (40, 300, "Totaal € 457,99"),
        ]
    )
    assert result.value("issue_date") == date(2025, 9, 6)


def test_total_tax_of_a_multi_rate_invoice_is_the_sum_of_its_rate_rows():
    result = extract(
        [
            (40, 60, "Rheinblick Gebäudeservice GmbH"),
            (40, 80, "Rechnungsnummer: R25-8679"),
            (40, 300, "Nettobetrag 7.091,38 €"),
            (40, 314, "USt. 19 % 1.305,79 €"),
            (40, 328, "USt. 7 % 15,32 €"),
            (40, 342, "Gesamtbetrag 8.412,49 €"),
        ]
    )
    assert result.value("tax_amount") == Decimal("1321.11")
    assert result.fields["tax_amount"].confidence >= 0.9  # label and arithmetic agree
    assert result.value("total_amount") == Decimal("8412.49")


def test_rate_rows_far_apart_are_not_summed():
    # The second "USt." row is a note at the bottom, not a tax row of the totals block.
    result = extract(
        [
            (40, 60, "Rheinblick Gebäudeservice GmbH"),
            (40, 300, "Nettobetrag 100,00 €"),
            (40, 314, "USt. 19 % 19,00 €"),
            (40, 328, "Gesamtbetrag 119,00 €"),
            (40, 600, "USt. 7 % 3,00 €"),
        ]
    )
    assert result.value("tax_amount") == Decimal("19.00")


def test_tax_without_a_known_label_is_the_difference_and_not_trusted():
    result = extract(
        [
            (40, 60, "ACME Supplies Ltd"),
            (40, 300, "Subtotal 100.00"),
            (40, 314, "Levy A 10.00"),
            (40, 328, "Total 110.00"),
        ]
    )
    assert result.value("tax_amount") == Decimal("10.00")
    assert result.fields["tax_amount"].confidence < 0.9


def test_due_date_label_after_a_day_count_is_still_the_due_date():
    result = extract(
        [
            (40, 60, "Muster GmbH"),
            (40, 80, "Rechnungsdatum 05.06.2013"),
            (40, 300, "Zahlbar innerhalb 30 Tagen netto bis 04.07.2013, 3% Skonto innerhalb 10 Tagen"),
        ]
    )
    assert result.value("due_date") == date(2013, 7, 4)


def test_currency_without_a_symbol_comes_from_the_vendor_bank_country_untrusted():
    result = extract(
        [
            (40, 60, "Van der Berg ICT Diensten B.V."),
            (40, 80, "Factuurnummer INV-2025-91241"),
            (40, 300, "Subtotaal 9.062,02"),
            (40, 314, "BTW 21% 1.903,02"),
            (40, 328, "Te betalen 10.965,04"),
            (40, 360, "Bankgegevens: ING · IBAN: NL80 INGB 0671 9382 41 · BIC: INGBNL2A"),
        ]
    )
    assert result.value("currency") == "EUR"
    assert result.fields["currency"].confidence < 0.9


def test_currency_without_a_symbol_on_a_us_invoice_is_usd():
    result = extract(
        [
            (40, 60, "Cascade Data Consulting LLC"),
            (40, 80, "Federal Tax ID: 91-2748163"),
            (40, 300, "Subtotal 13,110.80"),
            (40, 314, "Total 13,110.80"),
            (40, 340, "Remit payment to: Account: 000928374615 · ABA Routing: 125000105"),
        ]
    )
    assert result.value("currency") == "USD"
    assert result.fields["currency"].confidence < 0.9


def test_no_currency_is_guessed_without_evidence():
    result = extract([(40, 60, "Someone"), (40, 300, "Total 10.00")])
    assert result.value("currency") is None


def test_iban_wrapped_in_a_footer_column_is_joined_across_lines():
    # Footer columns at x=40, 280 and 470; the IBAN wraps its last group onto the next line
    # and the VAT column's wrapped tail ("586") sits right after it on the first line.
    result = extract(
        [
            (40, 60, "Papeterie Lefèvre & Fils SAS"),
            (40, 300, "Total HT 100,00 €"),
            (280, 777, "Bank Details"),
            (470, 777, "VAT Reg. No.: FR 86 427 193"),
            (280, 786, "IBAN: FR76 3000 3036 2000 0204 8713"),
            (470, 786, "586"),
            (280, 795, "301"),
            (280, 804, "BIC: SOGEFRPP"),
        ]
    )
    assert result.value("vendor_iban") == "FR7630003036200002048713301"
    assert result.fields["vendor_iban"].confidence >= 0.9  # checksum-valid


def test_a_wrapped_iban_that_fails_its_checksum_is_not_trusted():
    result = extract(
        [
            (40, 60, "Papeterie Lefèvre & Fils SAS"),
            (280, 786, "IBAN: FR76 3000 3036 2000 0204 8713"),
            (280, 795, "302"),
        ]
    )
    fv = result.fields.get("vendor_iban")
    assert fv is None or fv.confidence < 0.5


def test_us_ein_stops_at_the_next_word_and_skips_the_customer_tax_id():
    result = extract(
        [
            (40, 60, "Hudson Freight & Courier Corp."),
            (40, 80, "Federal Tax ID: 13-4928176 Customer Tax ID: 04-3918275"),
            (40, 300, "Total $10.00"),
        ]
    )
    assert result.value("vendor_tax_id") == "13-4928176"
    assert result.fields["vendor_tax_id"].confidence < 0.9  # no checksum for an EIN


def test_ein_label_with_the_number_on_the_line_below():
    result = extract(
        [
            (40, 60, "Bluegrass Office Supply Inc."),
            (300, 100, "EIN"),
            (380, 100, "Date: 07/23/2025"),
            (300, 112, "61-1834927"),
            (40, 300, "Total $10.00"),
        ]
    )
    assert result.value("vendor_tax_id") == "61-1834927"


def test_vat_id_wrapped_in_a_footer_column_is_joined_when_its_checksum_holds():
    result = extract(
        [
            (40, 60, "Papeterie Lefèvre & Fils SAS"),
            (40, 300, "Total HT 100,00 €"),
            (470, 777, "VAT Reg. No.: FR 86 427 193"),
            (470, 786, "586"),
        ]
    )
    assert result.value("vendor_tax_id") == "FR86427193586"


def test_credit_memo_number_wins_over_the_original_invoice_number():
    result = extract(
        [
            (40, 60, "Bluegrass Office Supply Inc."),
            (40, 80, "Credit Memo"),
            (300, 100, "Credit Memo #: CN-25859"),
            (300, 112, "Invoice Date: 04/04/2025"),
            (300, 124, "Original Invoice #: 25859"),
            (40, 300, "Total USD -10.00"),
        ]
    )
    assert result.value("invoice_number") == "CN-25859"


def test_avoir_number_and_facture_d_origine():
    result = extract(
        [
            (40, 60, "Atelier Marchand SARL"),
            (300, 100, "Avoir n°: AV-F2025-54471"),
            (300, 124, "Facture d'origine: F2025-54471"),
            (40, 300, "Total TTC -10,00 €"),
        ]
    )
    assert result.value("invoice_number") == "AV-F2025-54471"


def test_invoice_ref_label():
    result = extract([(40, 60, "Pennine Stationery Ltd"), (300, 90, "Invoice Ref.: INV057276")])
    assert result.value("invoice_number") == "INV057276"


def test_italian_credit_note_number_and_rif_fattura():
    result = extract(
        [
            (40, 60, "Trasporti Adriatico S.p.A."),
            (40, 90, "Data fattura"),
            (200, 90, "Nota di credito n."),
            (40, 102, "19/09/2025"),
            (200, 102, "NC-FT2025-06245"),
            (40, 200, "Rif. fattura"),
            (40, 212, "FT2025-06245"),
            (40, 300, "Totale € -1.003,60"),
        ]
    )
    assert result.value("invoice_number") == "NC-FT2025-06245"
