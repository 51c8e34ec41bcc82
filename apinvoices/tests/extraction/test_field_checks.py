"""Cross-checks and OCR-shaped layouts of the field rules: a wrapped IBAN beside a neighbour
column, an invoice number printed twice, credit-note signs, labels that OCR or a slanted photo
put on a neighbouring line, and dates and totals derived from what the page does print."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from apinvoices.extraction.layout import Page, Word, extract_invoice
from apinvoices.tests.extraction.test_layout import extract, make_page, words_at


def _ocr(words: list[Word]):
    return extract_invoice(
        [Page(number=1, width=595.0, height=842.0, words=words)], source="ocr", kind="ocr"
    )


def _word(text: str, x0: float, top: float, bottom: float, conf: float = 0.95) -> Word:
    return Word(text, x0, top, x0 + 5.0 * len(text), bottom, 1, conf)


# --- IBAN wrapped in a footer column ------------------------------------------------------------


def test_wrapped_iban_is_joined_when_the_column_to_its_left_sits_close():
    # Footer columns at x=40, 150 and 240 with gaps narrower than three text heights: the
    # continuation "301" opens the next line at the IBAN label's edge, not at the mail column's.
    result = extract(
        [
            (40, 777, "Tel +33 1 42"),
            (240, 777, "Bank Details"),
            (40, 786, "Paris"),
            (150, 786, "mail@lefevre.fr"),
            (240, 786, "IBAN: FR76 3000 3036 2000 0204 8713"),
            (425, 786, "586"),
            (150, 795, "www.lefevre.fr"),
            (240, 795, "301"),
            (425, 777, "VAT: FR 86 427 193"),
        ]
    )
    assert result.value("vendor_iban") == "FR7630003036200002048713301"
    assert result.fields["vendor_iban"].confidence <= 0.9  # pieced together from two lines


def test_wrapped_iban_leaves_out_a_neighbour_columns_digits_set_at_a_word_gap():
    # "586" (the VAT column's wrapped tail) follows the IBAN at an ordinary word gap, so only
    # the checksum can tell that it is not the IBAN's last group.
    result = extract(
        [
            (240, 786, "IBAN: FR76 3000 3036 2000 0204 8713 586"),
            (240, 795, "301"),
        ]
    )
    assert result.value("vendor_iban") == "FR7630003036200002048713301"


def test_a_continuation_that_fails_the_checksum_gives_no_joined_iban():
    result = extract(
        [
            (240, 786, "IBAN: FR76 3000 3036 2000 0204 8713 586"),
            (240, 795, "302"),
        ]
    )
    assert result.value("vendor_iban") != "FR7630003036200002048713302"
    assert result.fields["vendor_iban"].confidence < 0.5


def test_iban_wrapped_at_the_end_of_a_paragraph_line_continues_at_its_left_edge():
    result = extract(
        [
            (40, 500, "Payment details: NATWEST BANK · IBAN: GB29 NWBK 6016 1331 9268"),
            (40, 510, "19 · BIC: NWBKGB2LXXX"),
        ]
    )
    assert result.value("vendor_iban") == "GB29NWBK60161331926819"


# --- Invoice number printed twice ---------------------------------------------------------------


def _numbered(number: str, footer: str | None) -> list[tuple[float, float, str]]:
    rows = [
        (40, 60, "Papeterie Lefevre & Fils SAS"),
        (330, 90, f"Invoice No.: {number}"),
        (330, 105, "Invoice Date: 23/05/2025"),
        (300, 500, "Total: EUR 1,015.70"),
    ]
    if footer:
        rows.append((40, 780, footer))
    return rows


def test_an_invoice_number_printed_again_after_the_document_title_is_trusted():
    result = extract(_numbered("FA-2544697", "Invoice FA-2544697 - page 1 of 1"))
    assert result.value("invoice_number") == "FA-2544697"
    assert result.fields["invoice_number"].confidence >= 0.9


def test_an_invoice_number_quoted_as_payment_reference_is_trusted():
    result = extract(_numbered("2025/31692", "Please quote 2025/31692 with your payment."))
    assert result.fields["invoice_number"].confidence >= 0.9


def test_an_invoice_number_printed_once_stays_below_auto_accept():
    result = extract(_numbered("FA-2544697", None))
    assert result.value("invoice_number") == "FA-2544697"
    assert result.fields["invoice_number"].confidence < 0.9


def test_a_repeat_without_a_document_word_before_it_proves_nothing():
    result = extract(_numbered("FA-2544697", "Customer copy FA-2544697"))
    assert result.fields["invoice_number"].confidence < 0.9


def test_a_short_all_digit_number_printed_twice_stays_below_auto_accept():
    # Five digits recur as postal codes; "Invoice 60121" in a footer is no proof.
    result = extract(_numbered("60121", "Invoice 60121"))
    assert result.value("invoice_number") == "60121"
    assert result.fields["invoice_number"].confidence < 0.9


# --- Credit notes -------------------------------------------------------------------------------


def test_credit_note_amounts_printed_negative_come_back_positive():
    result = extract(
        [
            (40, 60, "Atelier Marchand SARL"),
            (330, 60, "AVOIR"),
            (330, 90, "Avoir n°: AV-F2025-17190"),
            (300, 480, "Total HT -100,00 €"),
            (300, 495, "TVA 20 % -20,00 €"),
            (300, 510, "Total TTC -120,00 €"),
        ]
    )
    assert result.value("document_type") == "credit_note"
    assert result.value("invoice_number") == "AV-F2025-17190"
    assert result.value("net_amount") == Decimal("100.00")
    assert result.value("tax_amount") == Decimal("20.00")
    assert result.value("total_amount") == Decimal("120.00")
    assert [(row.rate, row.base, row.amount) for row in result.taxes] == [
        (Decimal("20"), Decimal("100.00"), Decimal("20.00"))
    ]


def test_credit_note_printed_with_positive_amounts_keeps_them():
    result = extract(
        [
            (40, 60, "Gutschrift"),
            (40, 90, "Gutschrift Nr. GS-17"),
            (300, 480, "Nettobetrag 100,00 €"),
            (300, 495, "USt. 19 % 19,00 €"),
            (300, 510, "Gesamtbetrag 119,00 €"),
        ]
    )
    assert result.value("document_type") == "credit_note"
    assert result.value("total_amount") == Decimal("119.00")


def test_a_corrective_invoice_with_negative_amounts_keeps_its_signs():
    # No credit-note word: a "Rechnungskorrektur" (EN 16931 type 384), negative in its XML too.
    result = extract(
        [
            (40, 60, "Rechnungskorrektur"),
            (40, 90, "Rechnungskorrektur Nr. RK21012345"),
            (300, 480, "Nettobetrag -7,67 €"),
            (300, 495, "USt. 19 % -1,12 €"),
            (300, 510, "Gesamtbetrag -8,79 €"),
        ]
    )
    assert result.value("document_type") == "invoice"
    assert result.value("net_amount") == Decimal("-7.67")
    assert result.value("total_amount") == Decimal("-8.79")


# --- Labels -------------------------------------------------------------------------------------


def test_po_label_does_not_match_inside_a_street_name():
    result = extract(
        [
            (40, 40, "Trasporti Adriatico S.p.A."),
            (40, 52, "Via del Porto 9"),
            (40, 64, "60121 Ancona"),
            (40, 200, "Numero fattura Data documento Rif. ordine"),
            (40, 212, "FT2025-43173 13/09/2025"),
            (210, 212, "BE0879459"),
        ]
    )
    assert result.value("po_number") == "BE0879459"


def test_a_value_that_starts_with_po_is_not_a_label():
    result = extract(
        [
            (40, 100, "PO # Payment Due"),
            (40, 112, "PO-798296 07/25/2025"),
        ]
    )
    assert result.value("po_number") == "PO-798296"


def test_customer_reference_is_the_purchase_order():
    result = extract([(300, 100, "Customer Ref.: 00833037")])
    assert result.value("po_number") == "00833037"


def test_a_label_with_its_value_in_brackets_is_read():
    result = extract(
        [
            (40, 90, "Factuurnummer: F005940"),
            (40, 500, "Te betalen € 1.648,75"),
            (40, 520, "Betaling binnen 45 dagen na factuurdatum. (Vervaldatum: 13 maart 2025)"),
        ]
    )
    assert result.value("due_date") == date(2025, 3, 13)


def test_a_bracketed_qualifier_is_still_no_label():
    result = extract(
        [
            (40, 480, "Summe (ohne MwSt.) 100,00 €"),
            (40, 495, "MwSt. 19 % 19,00 €"),
            (40, 510, "Gesamtbetrag 119,00 €"),
        ]
    )
    assert result.value("tax_amount") == Decimal("19.00")


# --- Values the page prints elsewhere -------------------------------------------------------------


def test_issue_date_is_the_due_date_minus_the_terms_when_no_label_names_it():
    result = extract(
        [
            (40, 90, "Factuurnummer: F005940"),
            (40, 500, "Te betalen € 1.648,75"),
            (40, 520, "Betaling binnen 45 dagen na factuurdatum. (Vervaldatum: 13 maart 2025)"),
        ]
    )
    assert result.value("issue_date") == date(2025, 1, 27)
    assert result.fields["issue_date"].confidence < 0.9


def test_total_is_net_plus_tax_when_no_total_is_readable():
    result = extract(
        [
            (40, 480, "Summe netto CHF 10'745.54"),
            (40, 495, "MWST 8.1 % 870.39"),
        ]
    )
    assert result.value("total_amount") == Decimal("11615.93")
    assert result.fields["total_amount"].confidence < 0.5


def test_a_credit_notes_total_is_its_negative_net_plus_tax_when_no_total_is_readable():
    result = extract(
        [
            (40, 60, "Gutschrift"),
            (40, 90, "Gutschrift Nr. GS-2025-0117"),
            (300, 480, "Summe netto -58,47 €"),
            (300, 495, "USt. 19 % -11,11 €"),
        ]
    )
    assert result.value("total_amount") == Decimal("69.58")  # the sign goes to document_type
    assert result.fields["total_amount"].confidence < 0.5


def _rate_table(rows: list[str], net: str) -> list[tuple[float, float, str]]:
    # A VAT summary as a small table under its header; the total row on a coloured band
    # that OCR did not read.
    lines = [(100, 322, "Netto"), (230, 322, "Satz"), (270, 322, "Steuer")]
    for i, row in enumerate(rows):
        base, rate, tax = row.split(" ")
        lines += [(100, 334 + 12 * i, base), (230, 334 + 12 * i, rate), (270, 334 + 12 * i, tax)]
    return [(40, 60, "Rechnung"), *lines, (400, 380, f"Summe netto {net} €")]


def test_the_tax_of_a_multi_rate_summary_is_its_rows_when_their_bases_make_the_net():
    result = extract(_rate_table(["241,17 19% 45,82", "89,94 7% 6,30"], "331,11"))
    assert result.value("net_amount") == Decimal("331.11")
    assert result.value("tax_amount") == Decimal("52.12")
    assert result.value("total_amount") == Decimal("383.23")
    assert result.fields["total_amount"].confidence < 0.5  # derived, not printed
    assert result.fields["tax_amount"].confidence < 0.9


def test_rate_rows_whose_bases_miss_the_net_are_not_summed():
    # A third rate's row was not read: the two rows cannot be the whole tax.
    result = extract(_rate_table(["241,17 19% 45,82", "89,94 7% 6,30"], "431,11"))
    assert result.value("tax_amount") != Decimal("52.12")
    assert result.value("total_amount") != Decimal("483.23")


def test_a_rate_row_that_disagrees_with_its_rate_is_not_summed():
    result = extract(_rate_table(["241,17 19% 45,82", "89,94 7% 9,30"], "331,11"))
    assert result.value("tax_amount") != Decimal("55.12")


# --- OCR lines ----------------------------------------------------------------------------------


def test_a_taller_value_grouped_into_the_line_above_still_belongs_to_its_label():
    # Tesseract boxes "CN-TC-2025-40532" taller than its label, so it joins the line of
    # "London" on the left and the label "Credit Note No.:" ends a line of its own.
    words = [
        _word("London", 47, 69, 76),
        _word("CN-TC-2025-40532", 414, 70, 81),
        _word("Credit", 327, 74, 81),
        _word("Note", 360, 75, 81),
        _word("No.:", 385, 75, 81),
        _word("Total", 327, 400, 407),
        _word("GBP", 360, 400, 407),
        _word("5,399.16", 385, 400, 407),
    ]
    assert _ocr(words).value("invoice_number") == "CN-TC-2025-40532"


def test_a_stray_colon_does_not_cut_a_value_off_from_the_label_above():
    words = [
        _word("Factuurnummer", 41, 178.8, 183.84),
        _word("INV-2025-47582", 41, 189.84, 196.56),
        Word(":", 134, 191.28, 135, 192.0, 1, 0.04),
    ]
    assert _ocr(words).value("invoice_number") == "INV-2025-47582"


def test_an_amount_on_a_slanted_photo_line_is_read_beside_its_label():
    # A photo taken at an angle: each amount, far right, sits a few points higher than its
    # label, so OCR starts a line for it.
    words = [
        _word("£100.00", 444, 351, 360),
        _word("Subtotal", 312, 355, 364),
        _word("£20.00", 451, 366, 375),
        _word("VAT", 312, 370, 379),
        _word("£120.00", 439, 381, 390),
        _word("Total", 312, 385, 394),
    ]
    result = _ocr(words)
    assert result.value("net_amount") == Decimal("100.00")
    assert result.value("tax_amount") == Decimal("20.00")
    assert result.value("total_amount") == Decimal("120.00")


def test_labels_on_their_own_lines_in_a_clean_grid_take_no_neighbours_value():
    # The neighbour test needs overlapping bands; a tidy table's rows never overlap.
    result = extract(
        [
            (40, 300, "Subtotal"),
            (400, 312, "100.00"),
            (40, 324, "Total 120.00"),
        ]
    )
    assert result.value("net_amount") is None or result.value("net_amount") != Decimal("100.00")


def test_an_ocr_value_under_its_column_header_is_read_across_the_headers_band_padding():
    # The header row is shaded: its values sit two cap heights below the labels, which OCR
    # boxes by their ink (about 6 pt for 7-pt capitals).
    words = [
        _word("Terms", 240, 260, 266),
        _word("Due", 392, 260, 266),
        _word("Date", 411, 260, 266),
        _word("Net", 241, 279, 285),
        _word("30", 257, 279, 285),
        _word("2025-02-13", 390, 279, 285),
    ]
    assert _ocr(words).value("due_date") == date(2025, 2, 13)


def test_one_printed_date_answers_one_date_label():
    # "data fattura" inside the terms sentence, and the "Scadenza" header above, both point
    # at "12 agosto 2025"; the invoice date has its own value under its own header.
    result = extract(
        [
            (380, 74, "Data fattura"),
            (380, 86, "13 luglio 2025"),
            (190, 258, "Condizioni di pagamento"),
            (372, 258, "Scadenza"),
            (190, 270, "Pagamento a 30 a data fattura."),
            (372, 270, "12 agosto 2025"),
        ]
    )
    assert result.value("issue_date") == date(2025, 7, 13)
    assert result.value("due_date") == date(2025, 8, 12)
    assert result.fields["issue_date"].confidence < 0.9


def test_cents_that_ocr_set_apart_are_joined_to_their_amount():
    rows = [
        (380, 539, "Zwischensumme: CHF :6'752. 95"),
        (380, 557, "MWST 8.1 %: CHF 546. 99"),
        (380, 570, "Summe brutto: CHF 7'299.94"),
    ]
    ocr = extract_invoice([make_page(rows, conf=0.95)], source="ocr", kind="ocr")
    assert ocr.value("net_amount") == Decimal("6752.95")
    assert ocr.value("tax_amount") == Decimal("546.99")
    assert extract(rows).value("net_amount") != Decimal("6752.95")  # a text layer as printed


def test_make_page_words_have_the_shape_the_tests_assume():
    page = make_page([(40, 100, "Invoice No: 1")])
    assert [w.text for w in page.words] == [w.text for w in words_at(40, 100, "Invoice No: 1")]


# --- OCR reads of document numbers ----------------------------------------------------------------


def test_the_day_of_a_date_beside_a_number_label_is_not_the_number():
    # A slanted grid header: "Avoir n°" and the next column's date on one OCR line, the
    # number on the line below.
    result = extract(
        [
            (86, 208, "Avoir n° 2 avril 2025"),
            (87, 220, "AV-F2025-17190"),
        ]
    )
    assert result.value("invoice_number") == "AV-F2025-17190"


def test_a_number_that_starts_with_a_compact_date_is_still_a_number():
    result = extract([(40, 100, "Invoice No.: 20250115-001")])
    assert result.value("invoice_number") == "20250115-001"


def test_a_raised_o_read_as_2_still_ends_the_label():
    result = _ocr([_word("Factura", 84, 241, 249), _word("n2:", 124, 241, 249),
                   _word("A2025/38330", 144, 241, 249)])  # fmt: skip
    assert result.value("invoice_number") == "A2025/38330"


def test_a_raised_o_read_as_a_registered_sign_and_a_2_still_ends_the_label():
    result = _ocr([_word("Factura", 199, 225, 231), _word("n®2:", 234, 225, 231),
                   _word("A2025/38330", 283, 225, 231)])  # fmt: skip
    assert result.value("invoice_number") == "A2025/38330"


def test_a_raised_o_read_as_2_in_a_column_header_leaves_the_value_below():
    result = extract(
        [
            (54, 303, "Factura n2"),
            (160, 303, "Fecha de emisión"),
            (54, 318, "FV-25-74674"),
            (160, 318, "06/05/2025"),
        ]
    )
    assert result.value("invoice_number") == "FV-25-74674"
    assert result.value("issue_date") == date(2025, 5, 6)


def test_look_alike_letters_between_digits_are_read_as_digits_on_ocr_only():
    rows = [(40, 100, "Purchase Order: 45O0l23456"), (40, 115, "Invoice No.: INVO22176")]
    ocr = extract_invoice([make_page(rows, conf=0.95)], source="ocr", kind="ocr")
    text = extract(rows)
    assert ocr.value("po_number") == "4500123456"
    assert ocr.value("invoice_number") == "INV022176"  # the zero that pads the number
    assert ocr.fields["invoice_number"].confidence < 0.9
    assert text.value("invoice_number") == "INVO22176"
    assert text.value("po_number") == "45O0l23456"  # a text layer is what the vendor typed


def test_a_label_word_ocr_misread_by_one_letter_is_still_a_label():
    rows = [(196, 240, "Rechrungs-Nr.: R25-1933"), (196, 252, "facturacion@iberia.es")]
    ocr = extract_invoice([make_page(rows, conf=0.95)], source="ocr", kind="ocr")
    assert ocr.value("invoice_number") == "R25-1933"
    assert "facturacion@iberia.es" in ocr.text  # an address is never mended
    assert extract(rows).value("invoice_number") != "R25-1933"  # a text layer as printed


def test_an_order_prefix_that_ends_in_o_keeps_its_letter_on_ocr():
    rows = [(40, 100, "Purchase Order: PO12345"), (40, 115, "Invoice No.: FO71196")]
    ocr = extract_invoice([make_page(rows, conf=0.95)], source="ocr", kind="ocr")
    assert ocr.value("po_number") == "PO12345"
    assert ocr.value("invoice_number") == "F071196"


def test_a_customer_details_header_marks_the_buyers_block():
    result = extract(
        [
            (47, 38, "SOLUCIONES IBERIA CONSULTORES S.L"),
            (328, 38, "FACTURA"),
            (47, 88, "NIF: ESB87654323"),
            (47, 195, "DATOS DEL CLIENTE:"),
            (47, 206, "Kestrel Instrumentos S.L."),
            (47, 218, "NIF cliente: ESB28374650"),
        ]
    )
    assert result.value("vendor_name") == "SOLUCIONES IBERIA CONSULTORES S.L"
    assert result.value("vendor_tax_id") == "ESB87654323"


# --- IBANs read by OCR ----------------------------------------------------------------------------


_GROUPS_DE = "DEO4 2004 0000 0418 2736 00"


def test_an_ocr_iban_with_a_letter_among_its_check_digits_is_read_without_a_label():
    # "1BAN" is no label, and "DEO4" fails the strict pattern: the IBAN's structure says
    # positions 3-4 are digits, and mod 97 confirms the reading.
    words = [
        _word("Bankverhlndune:", 46, 808, 814),
        _word("Commertank", 130, 808, 814),
        _word("-1BAN:", 190, 808, 814),
        *(_word(g, 225 + 27 * i, 808, 814) for i, g in enumerate(_GROUPS_DE.split())),
    ]
    iban = _ocr(words).fields["vendor_iban"]
    assert iban.value == "DE04200400000418273600"
    assert iban.confidence < 0.9  # look-alikes read by position: plausible, never certain


def test_an_ocr_iban_on_the_line_under_its_label_is_read_by_its_structure():
    words = [
        _word("IBAN", 23, 246, 252),
        *[_word(g, 23 + 27 * i, 256, 262) for i, g in enumerate("NL91 ABNA 0417 1643 OD".split())],
    ]
    assert _ocr(words).value("vendor_iban") == "NL91ABNA0417164300"


def _countryless(iban_text: str, bic: str) -> list[Word]:
    text = f"Datos bancarios: BANCO SANTANDER, S.A. / IBAN: {iban_text} / BIC: {bic}"
    return [w for w in words_at(48, 548, text, conf=0.95)]


def test_an_iban_whose_country_ocr_lost_takes_the_bics_country_when_mod_97_agrees():
    iban = _ocr(_countryless("S73 0049 1500 0327 1083 4521", "BSCHESMM")).fields["vendor_iban"]
    assert iban.value == "ES7300491500032710834521"
    assert iban.confidence < 0.9


def test_an_iban_without_country_stays_unread_when_no_country_makes_it_valid():
    # The check digits do not fit the number: no country is made up for it.
    assert _ocr(_countryless("S74 0049 1500 0327 1083 4521", "BSCHESMM")).value(
        "vendor_iban"
    ) != "ES7400491500032710834521"
    # The left-over letter is not the second letter of the only country the page names.
    assert _ocr(_countryless("X73 0049 1500 0327 1083 4521", "BSCHESMM")).value(
        "vendor_iban"
    ) is None


def test_a_text_layer_iban_is_never_read_by_look_alikes():
    result = extract([(40, 500, "IBAN: DEO4 2004 0000 0418 2736 00")])
    assert result.value("vendor_iban") != "DE04200400000418273600"


# --- Vendor name ---------------------------------------------------------------------------------


def test_a_company_named_in_the_bank_details_is_the_bank_not_the_vendor():
    # The vendor's own name lost its legal form to OCR ("S.A" read as "Ss"), so the only
    # legal-form names left are the banks'.
    rows = [
        (48, 32, "LIMPIEZAS MEDITERRANEO Ss"),
        (328, 32, "FACTURA"),
        (48, 548, "Datos bancarios: BANCO SANTANDER, S.A. / IBAN: ES73 0049 1500 0327 1083 4521"),
        (48, 700, "Transferencia a"),
        (48, 710, "CAIXABANK, S.A."),
        (48, 720, "IBAN: ES91 2100 0418 4502 0005 1332"),
    ]
    name = extract(rows).value("vendor_name")
    assert name not in ("BANCO SANTANDER, S.A.", "CAIXABANK, S.A.")


def test_sa_without_dots_is_a_legal_form_but_a_state_before_its_postcode_is_not():
    rows = [
        (270, 41, "Côte d'Azur Nettoyage SA"),
        (62, 151, "Kestrel Instruments SAS"),
        (62, 164, "25 quai Perrache"),
    ]
    assert extract(rows).value("vendor_name") == "Côte d'Azur Nettoyage SA"
    shop = extract([(40, 40, "Adelaide SA 5000"), (40, 60, "Outback Supplies Pty Ltd")])
    assert shop.value("vendor_name") == "Outback Supplies Pty Ltd"


def test_a_name_above_its_accounts_payable_department_is_the_buyers():
    # A sidebar layout: the vendor's name wrapped in the sidebar, its legal form alone on
    # the next line, while the buyer's address column sets "Lyon" between the two halves.
    rows = [
        (200, 72, "Kestrel Instruments SAS"),
        (200, 84, "Service comptabilité fournisseurs"),
        (200, 96, "25 quai Perrache"),
        (24, 104, "Côte d'Azur Nettoyage"),
        (200, 106, "69002 Lyon"),
        (24, 113, "SA"),
    ]
    assert extract(rows).value("vendor_name") == "Côte d'Azur Nettoyage SA"


# --- Currency on OCR ----------------------------------------------------------------------------


def _spanish_page(extra: list[tuple[float, float, str]]):
    rows = [
        (40, 120, "NIF: ESB87654323"),
        (40, 300, "15 [ueseación ette Rs 3 alg iso] aa"),
        (334, 185, "Base imponible 67.592,24"),
        (334, 199, "IVA 21 % 14.194,37"),
        (334, 213, "Total 81.786,61"),
        (40, 230, "Datos bancarios: IBAN: ES91 2100 0418 4502 0005 1332"),
        *extra,
    ]
    return extract_invoice([make_page(rows, conf=0.95)], source="ocr", kind="ocr")


def test_a_currency_symbol_read_once_into_garbled_ocr_text_yields_to_the_vendors_country():
    result = _spanish_page([])
    assert result.value("currency") == "EUR"
    assert result.fields["currency"].confidence < 0.9


def test_a_single_currency_sign_beside_an_amount_is_the_currency():
    # A Spanish vendor invoicing in pounds, the sign printed once, on its total's line.
    result = _spanish_page([(334, 227, "Total a pagar £81.786,61")])
    assert result.value("currency") == "GBP"


# --- VAT IDs read by OCR --------------------------------------------------------------------------


def _vat_page(vat_line: str, *, language_line: str, iban: str | None = None):
    rows = [(45, 40, language_line), (45, 89, vat_line)]
    if iban:
        rows.append((45, 700, f"IBAN: {iban}"))
    return extract_invoice([make_page(rows, conf=0.95)], source="ocr", kind="ocr")


def test_a_vat_id_whose_country_prefix_ocr_misread_takes_the_documents_country():
    result = _vat_page("P.IVA: 1102746190046", language_line="Fattura n. 17/2025 - Data fattura")
    assert result.value("vendor_tax_id") == "IT02746190046"
    assert result.fields["vendor_tax_id"].confidence < 0.9


def test_the_vendors_iban_names_the_country_of_a_misread_vat_prefix():
    # An English invoice from an Italian vendor: the language says nothing, the IBAN does.
    result = _vat_page(
        "VAT No.: 1109182730011",
        language_line="Tax Invoice",
        iban="IT58 P030 6909 6061 0000 0063 912",
    )
    assert result.value("vendor_tax_id") == "IT09182730011"


def test_a_misread_prefix_is_not_repaired_when_the_checksum_fails_or_the_letters_differ():
    failing = _vat_page("P.IVA: 1102746190047", language_line="Fattura n. 17/2025")
    unlike = _vat_page("P.IVA: 8802746190046", language_line="Fattura n. 17/2025")
    assert failing.value("vendor_tax_id") != "IT02746190047"
    assert unlike.value("vendor_tax_id") != "IT02746190046"


def test_a_buyer_vat_id_whose_marker_lost_its_first_letter_to_ocr_is_not_the_vendors():
    # The buyer's address column was cut at its left edge: "Ihre" read as "hre".
    rows = [
        (22, 108, "Rheinblick"),
        (22, 120, "Gebäudeservice GmbH"),
        (232, 120, "hre USt-IdNr.: DE 317 485 927"),
        (22, 276, "USt-ID"),
        (22, 285, "DE 126 394 857"),
    ]
    ocr = extract_invoice([make_page(rows, conf=0.95)], source="ocr", kind="ocr")
    assert ocr.value("vendor_tax_id") == "DE126394857"


def test_a_text_layer_vat_id_without_its_prefix_is_not_given_one():
    result = extract([(45, 40, "Fattura n. 17/2025"), (45, 89, "P.IVA: 1102746190046")])
    assert result.value("vendor_tax_id") != "IT02746190046"
