"""Language-aware parsers: amounts, dates, payment terms, currencies, labels, languages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apinvoices.extraction import fields as F


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        # English (US/UK): comma thousands, dot decimals
        ("1,234.56", None, "1234.56"),
        ("$4.11", None, "4.11"),
        ("£ 12,500.00", "en_GB", "12500.00"),
        ("USD 1,000,000.00", None, "1000000.00"),
        ("(100.00)", None, "-100.00"),
        ("1,234", "en", "1234"),
        # German / Dutch / Spanish / Italian: dot thousands, comma decimals
        ("1.234,56", None, "1234.56"),
        ("1.234,56 €", "de", "1234.56"),
        ("€ 717,97", "nl", "717.97"),
        ("-0,00", "de", "0.00"),
        ("-7,67", None, "-7.67"),
        ("9,32-", "de", "-9.32"),
        ("1.234.567,89", "es", "1234567.89"),
        ("1.234", "de", "1234"),
        ("1.234", "en", "1.234"),
        ("1,234", "de", "1.234"),
        ("0,125", None, "0.125"),
        # French: space (also narrow no-break space) thousands
        ("1 234,56", "fr", "1234.56"),
        ("1\u202f234,56 €", "fr", "1234.56"),
        ("12\u00a0500,00 EUR", "fr", "12500.00"),
        # Swiss: apostrophe thousands
        ("1'234.56", "de_CH", "1234.56"),
        ("CHF 1’234.50", None, "1234.50"),
        ("29.99 € TTC", "fr", "29.99"),
        ("Rs 1939", None, "1939"),
    ],
)
def test_parse_amount_reads_every_number_format(text, hint, expected):
    assert F.parse_amount(text, hint) == Decimal(expected)


@pytest.mark.parametrize(
    "text", ["21%", "19 %", "NL810433941B01", "12.05.2024", "1.2.3", "abc", "", "1,23,45", "12 34"]
)
def test_parse_amount_refuses_what_is_not_one_amount(text):
    assert F.parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "language", "order", "expected"),
    [
        ("4. März 2024", "de", None, date(2024, 3, 4)),
        ("7. Mai 2014", "de", None, date(2014, 5, 7)),
        ("Rechnungsdatum: 05.03.2018", "de", None, date(2018, 3, 5)),
        ("12 janvier 2024", "fr", None, date(2024, 1, 12)),
        ("1er mars 2024", "fr", None, date(2024, 3, 1)),
        ("02 Juillet 2015", "fr", None, date(2015, 7, 2)),
        ("le 5 août 2023", "fr", None, date(2023, 8, 5)),
        ("19 april 2014", "nl", None, date(2014, 4, 19)),
        ("8-9-2022", "nl", None, date(2022, 9, 8)),
        ("3 maart 2024", "nl", None, date(2024, 3, 3)),
        ("8 de marzo de 2024", "es", None, date(2024, 3, 8)),
        ("15/01/2024", "es", None, date(2024, 1, 15)),
        ("5 settembre 2023", "it", None, date(2023, 9, 5)),
        ("31/12/2017", "it", None, date(2017, 12, 31)),
        ("August 3 , 2014", "en", None, date(2014, 8, 3)),
        ("Sept. 5, 2023", "en", None, date(2023, 9, 5)),
        ("3rd August 2014", "en", None, date(2014, 8, 3)),
        ("2024-03-04", None, None, date(2024, 3, 4)),
        ("20180305", None, None, date(2018, 3, 5)),
        ("13/02/24", None, None, date(2024, 2, 13)),
        # 03/04/2024: the hint decides
        ("03/04/2024", "en_US", None, date(2024, 3, 4)),
        ("03/04/2024", "en_GB", None, date(2024, 4, 3)),
        ("03/04/2024", "de", None, date(2024, 4, 3)),
        ("03/04/2024", "en", "MDY", date(2024, 3, 4)),
        ("03/20/2023", "de", None, date(2023, 3, 20)),  # impossible day-first: month-first
    ],
)
def test_parse_date_in_every_language_and_order(text, language, order, expected):
    assert F.parse_date(text, language=language, order_hint=order) == expected


@pytest.mark.parametrize("text", ["32.01.2024", "no date here", "2024-13-01", "31/02/2024", ""])
def test_parse_date_refuses_impossible_dates(text):
    assert F.parse_date(text) is None


def test_infer_date_order_uses_the_unambiguous_dates_on_the_page():
    assert F.infer_date_order("Invoice date 03/04/2024  Due 03/20/2024") == F.MDY
    assert F.infer_date_order("Datum 03/04/2024 fällig 20/04/2024") == F.DMY
    assert F.infer_date_order("Date 03/04/2024") is None


@pytest.mark.parametrize(
    ("text", "days", "discount", "discount_days"),
    [
        ("Net 30", 30, None, None),
        ("Terms: net 45 days", 45, None, None),
        ("30 days net", 30, None, None),
        ("Payment due within 14 days", 14, None, None),
        ("2/10 net 30", 30, "2", 10),
        ("2/10, Net 30", 30, "2", 10),
        ("zahlbar innerhalb von 14 Tagen", 14, None, None),
        (
            "Zahlbar innerhalb 30 Tagen netto bis 04.04.2018, 3% Skonto innerhalb 10 Tagen",
            30,
            "3",
            10,
        ),
        ("14 Tage netto", 14, None, None),
        ("payable à 30 jours", 30, None, None),
        ("Paiement à 45 jours fin de mois", 45, None, None),
        ("binnen 30 dagen", 30, None, None),
        ("Te betalen binnen 14 dagen na factuurdatum", 14, None, None),
        ("a 30 días", 30, None, None),
        ("Pago a 60 días fecha factura", 60, None, None),
        ("entro 30 giorni", 30, None, None),
        ("Pagamento entro 60 giorni data fattura", 60, None, None),
        ("Due on receipt", 0, None, None),
        ("Zahlbar sofort ohne Abzug", 0, None, None),
    ],
)
def test_parse_payment_terms_in_every_language(text, days, discount, discount_days):
    terms = F.parse_payment_terms(text)
    assert terms is not None
    assert terms.net_days == days
    assert terms.discount_percent == (Decimal(discount) if discount else None)
    assert terms.discount_days == discount_days


def test_payment_terms_give_due_and_discount_dates():
    terms = F.parse_payment_terms("2/10 net 30")
    assert terms.due_date(date(2024, 1, 31)) == date(2024, 3, 1)
    assert terms.discount_date(date(2024, 1, 31)) == date(2024, 2, 10)
    assert F.due_date_from_terms("zahlbar innerhalb von 14 Tagen", date(2024, 2, 20)) == date(
        2024, 3, 5
    )


@pytest.mark.parametrize(
    "text", ["Skonto sofort", "Thank you for your business", "Seite 1 von 2", ""]
)
def test_parse_payment_terms_ignores_text_without_terms(text):
    assert F.parse_payment_terms(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Totaal € 717,97", "EUR"),
        ("Amount due USD 1,200.00", "USD"),
        ("Total £250.00", "GBP"),
        ("Grand Total Rs. 319.00", "INR"),
        ("Betrag CHF 1'234.50", "CHF"),
        ("Total 4.11 $ ... All charges are in US Dollars", "USD"),
        ("Suma 316,83 zł PLN", "PLN"),
    ],
)
def test_detect_currency_from_symbols_and_codes(text, code):
    found = F.detect_currency(text)
    assert found is not None and found[0] == code


def test_currency_confidence_is_lower_for_a_bare_dollar_sign():
    bare = F.detect_currency("Total $4.11")
    explicit = F.detect_currency("Total USD 4.11, paid in USD")
    assert bare[1] < explicit[1]
    assert bare[1] < 0.9
    assert F.detect_currency("no money here") is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "Rechnung Nr. 4711 vom 05.03.2018. Bitte zahlen Sie den Gesamtbetrag inkl. MwSt bis "
            "zum Fälligkeitsdatum auf unsere Bankverbindung.",
            "de",
        ),
        (
            "Facture n° 2022089083. Date : 28/11/2022. Total TTC à payer avant l'échéance, "
            "montant de la TVA pour votre commande.",
            "fr",
        ),
        (
            "Factuurnummer 993548900. Factuurdatum 19 april 2014. Totaal incl. BTW te betalen "
            "voor de vervaldatum, met uw klantnummer.",
            "nl",
        ),
        (
            "Factura número 2024-001. Fecha de emisión. Base imponible, IVA y el importe total "
            "para el cliente con vencimiento a 30 días.",
            "es",
        ),
        (
            "Fattura numero 12. Data fattura. Totale imponibile, IVA e importo totale da pagare "
            "per il cliente con scadenza.",
            "it",
        ),
        (
            "Invoice number 42. Please pay the total amount due by the due date and thank you "
            "for your order.",
            "en",
        ),
    ],
)
def test_detect_language(text, language):
    assert F.detect_language(text) == language


def test_detect_language_is_none_for_numbers_only():
    assert F.detect_language("12345 67,89 2024-01-01") is None


@pytest.mark.parametrize(
    ("text", "field", "language"),
    [
        ("Invoice No.: 123", "invoice_number", "en"),
        ("Rechnungsnr. 30064443", "invoice_number", "de"),
        ("Facture n°562044387 du 02 Juillet 2015", "invoice_number", "fr"),
        ("Factuurnummer: 993548900", "invoice_number", "nl"),
        ("Nº factura: A-17", "invoice_number", "es"),
        ("Fattura n. 12/2024", "invoice_number", "it"),
        ("Handelsrechnung (380) Nr. 471102 vom 05.03.2018", "invoice_number", "de"),
        ("Fälligkeitsdatum: 01.04.2024", "due_date", "de"),
        ("Date d'échéance : 30/04/2024", "due_date", "fr"),
        ("Vervaldatum 22-9-2022", "due_date", "nl"),
        ("Gesamtbetrag 1.190,00 €", "total_amount", "de"),
        ("Total TTC : 56,02 €", "total_amount", "fr"),
        ("Importe total 121,00", "total_amount", "es"),
        ("Totale documento 122,00", "total_amount", "it"),
        ("Amount due $1,200.00", "total_amount", "en"),
        ("Total HT : 46,68 €", "net_amount", "fr"),
        ("Base imponible 100,00", "net_amount", "es"),
        ("Imponibile 100,00", "net_amount", "it"),
        ("TVA 20% : 9,34 €", "tax_amount", "fr"),
        ("USt-IdNr: DE123456789", "vendor_tax_id", "de"),
        ("Partita IVA IT00743110157", "vendor_tax_id", "it"),
    ],
)
def test_find_labels_per_language(text, field, language):
    found = F.find_labels(text, field)
    assert found, f"no {field} label in {text!r}"
    assert found[0].language == language or field in ("vendor_iban", "vendor_bic")


def test_find_labels_keeps_the_longest_phrase():
    found = F.find_labels("Invoice Date: 2024-01-01", "issue_date")
    assert [m.phrase for m in found] == ["invoice date"]
    assert found[0].strength > F.find_labels("Date: 2024-01-01", "issue_date")[0].strength


def test_labels_match_without_accents_and_case():
    assert F.find_labels("FALLIGKEITSDATUM", "due_date")
    assert F.find_labels("Numéro de facture", "invoice_number")
    assert F.find_labels("NUMERO DE FACTURE", "invoice_number")


def test_not_total_labels_cover_subtotal_previous_balance_and_paid():
    for text in (
        "Subtotal",
        "Zwischensumme",
        "Sous-total",
        "Previous balance",
        "Amount paid",
        "Bereits bezahlt",
        "Déjà réglé",
        "Subtotaal",
    ):
        assert F.contains_any(text, F.NOT_TOTAL_LABELS), text


def test_decimal_separator_detection_ignores_dates():
    assert F.detect_decimal_separator("Total 1.234,56 EUR, Steuer 19,00") == ","
    assert F.detect_decimal_separator("Total 1,234.56 USD, tax 9.00") == "."
    assert F.detect_decimal_separator("Datum 01.05.14 - 31.05.14") is None


def test_identifier_helpers_use_the_shared_validators():
    assert F.normalize_iban("DE30 5075 0094 0000 0485 67") == "DE30507500940000048567"
    assert F.normalize_iban("DE30 5075 0094 0000 0485 68") is None
    assert F.normalize_tax_id("DE 232 446 240") == "DE232446240"
    assert F.normalize_tax_id("DE123456789") is None  # the specimen number fails its checksum
