"""Text-layer extraction on real corpus PDFs, generated invoices and hostile input."""

from __future__ import annotations

import io
import json
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.pdftext import extract_pdf_text, is_usable_text

COMPARE = Path("invoice2data-compare") / "tests" / "compare"

# invoice2data JSON name -> our field name
I2D_FIELDS = {
    "invoice_number": "invoice_number",
    "date": "issue_date",
    "date_due": "due_date",
    "currency": "currency",
    "amount": "total_amount",
    "amount_untaxed": "net_amount",
    "amount_tax": "tax_amount",
    "vat": "vendor_tax_id",
    "iban": "vendor_iban",
}

# The fields each vendor PDF must give exactly as invoice2data's ground truth. Fields left out
# are known misses, listed so a regression and an improvement both show up:
# AWS and QualityHosting print no net label; saeco's vendor block is an image (needs OCR);
# oyo's only number is a booking ID; SammyMaystone's invoice number is a placeholder word.
EXPECTED_I2D = {
    "AmazonWebServices": {"invoice_number", "date", "currency", "amount"},
    "AzureInterior": {"invoice_number", "amount", "amount_untaxed", "amount_tax"},
    "FlipkartInvoice": {"invoice_number", "date", "currency", "amount"},
    "NetpresseInvoice": {"invoice_number", "date", "currency", "amount", "amount_untaxed"},
    "QualityHosting": {"invoice_number", "date", "currency", "amount", "vat"},
    "coolblue1": {"invoice_number", "date", "currency", "amount", "amount_untaxed", "vat", "iban"},
    "coolblue2": {"invoice_number", "date", "currency", "amount", "amount_untaxed", "vat", "iban"},
    "free_fiber": {"invoice_number", "date", "date_due", "currency", "amount", "vat"},
    "oyo": {"date", "currency", "amount"},
    "saeco": {
        "invoice_number",
        "date",
        "date_due",
        "currency",
        "amount",
        "amount_untaxed",
        "amount_tax",
    },
    "SammyMaystoneLinesTest": {"date", "currency"},
}


def _normalise(name: str, value):
    if value is None:
        return None
    if name in ("date", "date_due"):
        return date.fromisoformat(str(value))
    if name.startswith("amount"):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return re.sub(r"[\s#]", "", str(value)).upper()


@pytest.mark.parametrize("stem", sorted(EXPECTED_I2D))
def test_vendor_pdfs_match_invoice2data_ground_truth(corpus_dir, stem):
    truth = json.loads((corpus_dir / COMPARE / f"{stem}.json").read_text())[0]
    result = extract_pdf_text((corpus_dir / COMPARE / f"{stem}.pdf").read_bytes())
    assert result is not None and result.kind == "pdf_text"
    for key in EXPECTED_I2D[stem]:
        field = result.fields.get(I2D_FIELDS[key])
        assert field is not None, f"{stem}: {key} missing"
        got = field.value
        if key.startswith("amount"):
            got = Decimal(got).quantize(Decimal("0.01"))
        elif key not in ("date", "date_due"):
            got = _normalise(key, got)
        assert got == _normalise(key, truth[key]), f"{stem}: {key}"
        assert field.source == "text" and field.page >= 1
        if field.bbox is not None:
            assert 0 <= field.bbox.x0 <= field.bbox.x1 <= 650  # a "€" glyph may have no width
            assert 0 <= field.bbox.top < field.bbox.bottom <= 900


def test_high_confidence_values_on_vendor_pdfs_are_right(corpus_dir):
    """GIVEN the vendor PDFs WHEN a value comes with confidence ≥ 0.9 THEN it is right."""
    checked = 0
    for stem in EXPECTED_I2D:
        truth = json.loads((corpus_dir / COMPARE / f"{stem}.json").read_text())[0]
        result = extract_pdf_text((corpus_dir / COMPARE / f"{stem}.pdf").read_bytes())
        for key, name in I2D_FIELDS.items():
            field = result.fields.get(name)
            if key not in truth or field is None or field.confidence < 0.9:
                continue
            if not isinstance(truth[key], str | int | float):
                continue
            got = field.value
            if key.startswith("amount"):
                got = Decimal(got).quantize(Decimal("0.01"))
            elif key not in ("date", "date_due"):
                got = _normalise(key, got)
            assert got == _normalise(key, truth[key]), f"{stem}: {key} at {field.confidence}"
            checked += 1
    assert checked >= 15


# --- Factur-X PDFs: the embedded XML is the ground truth -----------------------------------

FACTURX_SAMPLES = [
    "zugferd-corpus/XML-Rechnung/FX/EN16931_Einfach.pdf",
    "zugferd-corpus/XML-Rechnung/FX/EN16931_Physiotherapeut.pdf",
    "zugferd-corpus/XML-Rechnung/FX/EN16931_OEPNV.pdf",
    "zugferd-corpus/ZUGFeRDv2/correct/intarsys/EN16931/zugferd_2p0_EN16931_Einfach.pdf",
    "zugferd-corpus/ZUGFeRDv1/correct/Intarsys/ZUGFeRD_1p0_BASIC_Einfach.pdf",
    "zugferd-corpus/ZUGFeRDv1/correct/Mustangproject/MustangGnuaccountingBeispielRE-20170509_505.pdf",
]
_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
_NS1 = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}


def _xml_truth(pdf_bytes: bytes) -> dict:
    from facturx import get_facturx_xml_from_pdf

    _, xml = get_facturx_xml_from_pdf(io.BytesIO(pdf_bytes), check_xsd=False)
    root = etree.fromstring(xml)
    v1 = root.tag.startswith("{urn:ferd:")
    ns = _NS1 if v1 else _NS

    def first(*paths):
        for path in paths:
            found = root.xpath(path, namespaces=ns)
            if found:
                return (found[0].text or "").strip()
        return None

    header = "rsm:HeaderExchangedDocument" if v1 else "rsm:ExchangedDocument"
    trade = "rsm:SpecifiedSupplyChainTradeTransaction" if v1 else "rsm:SupplyChainTradeTransaction"
    sums = (
        "//ram:SpecifiedTradeSettlementMonetarySummation"
        if v1
        else "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    )
    raw_date = first(f"/*/{header}/ram:IssueDateTime/udt:DateTimeString")
    return {
        "invoice_number": first(f"/*/{header}/ram:ID"),
        "issue_date": date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:8])),
        "currency": first("//ram:InvoiceCurrencyCode"),
        "total_amount": {
            Decimal(x)
            for x in (first(f"{sums}/ram:GrandTotalAmount"), first(f"{sums}/ram:DuePayableAmount"))
            if x
        },
        "net_amount": Decimal(first(f"{sums}/ram:TaxBasisTotalAmount")),
        "vendor_tax_id": first(
            f"/*/{trade}//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"
        ),
    }


@pytest.mark.parametrize("relative", FACTURX_SAMPLES, ids=lambda p: Path(p).stem)
def test_facturx_text_layer_matches_embedded_xml(corpus_dir, relative):
    data = (corpus_dir / relative).read_bytes()
    truth = _xml_truth(data)
    result = extract_pdf_text(data)
    assert result is not None
    assert result.value("invoice_number") == truth["invoice_number"]
    assert result.value("issue_date") == truth["issue_date"]
    assert result.value("currency") == truth["currency"]
    assert result.value("total_amount") in truth["total_amount"]
    assert result.value("net_amount") == truth["net_amount"]
    if truth["vendor_tax_id"]:
        assert result.value("vendor_tax_id") == truth["vendor_tax_id"].replace(" ", "")


@pytest.mark.slow
def test_corpus_accuracy_floor(corpus_dir):
    """All 91 corpus PDFs with a text layer: per-field accuracy stays at or above what was
    measured when this extractor was written (see corpus_accuracy.py for the figures)."""
    from apinvoices.tests.extraction.corpus_accuracy import run

    report = run(corpus_dir, ocr=False, limit=None)
    floors = {
        "invoice_number": 0.82,
        "issue_date": 0.88,
        "due_date": 0.8,
        "currency": 0.95,
        "net_amount": 0.8,
        "total_amount": 0.85,
        "vendor_tax_id": 0.93,
        "vendor_iban": 0.8,
    }
    for name, floor in floors.items():
        row = report["stats"][name]
        assert row["right"] / row["truth"] >= floor, (name, row)
    confident = report["confident"]
    assert confident["right"] / confident["n"] >= 0.9


# --- Generated invoices in each language ---------------------------------------------------


def _invoice_pdf(
    lines: list[tuple[float, float, str]], *, encrypt: tuple[str, str] | None = None, pages: int = 1
) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    if encrypt:
        from reportlab.lib import pdfencrypt

        pdf.setEncrypt(pdfencrypt.StandardEncryption(encrypt[0], ownerPassword=encrypt[1]))
    for _ in range(pages):
        pdf.setFont("Helvetica", 10)
        for x, y, text in lines:
            pdf.drawString(x, A4[1] - y, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


LANGUAGE_INVOICES = {
    "de": (
        [
            (40, 50, "Muster Bürobedarf GmbH, Hauptstraße 5, 80333 München"),
            (40, 62, "USt-IdNr.: DE136695976"),
            (40, 120, "Rechnungsempfänger"),
            (40, 132, "Kunde AG"),
            (40, 144, "USt-IdNr.: DE232446240"),
            (330, 120, "Rechnungsnummer:"),
            (450, 120, "RE-2024-0815"),
            (330, 132, "Rechnungsdatum:"),
            (450, 132, "4. März 2024"),
            (330, 144, "Bestellnummer:"),
            (450, 144, "B-4711"),
            (330, 600, "Nettobetrag"),
            (480, 600, "1.000,00 €"),
            (330, 614, "MwSt. 19 %"),
            (480, 614, "190,00 €"),
            (330, 628, "Gesamtbetrag"),
            (480, 628, "1.190,00 €"),
            (40, 680, "Zahlbar innerhalb von 14 Tagen ohne Abzug."),
            (
                40,
                760,
                "Bankverbindung: Musterbank, IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
            ),
        ],
        {
            "invoice_number": "RE-2024-0815",
            "issue_date": date(2024, 3, 4),
            "due_date": date(2024, 3, 18),
            "po_number": "B-4711",
            "net_amount": Decimal("1000.00"),
            "tax_amount": Decimal("190.00"),
            "total_amount": Decimal("1190.00"),
            "currency": "EUR",
            "vendor_tax_id": "DE136695976",
            "vendor_iban": "DE89370400440532013000",
        },
    ),
    "fr": (
        [
            (40, 50, "Dupont Fournitures SARL"),
            (40, 62, "N° TVA intracommunautaire : FR40303265045"),
            (330, 120, "Facture n° F-2024-031"),
            (330, 132, "Date de facture : 12 janvier 2024"),
            (330, 144, "Date d'échéance : 11 février 2024"),
            (330, 600, "Total HT"),
            (480, 600, "2 500,00 €"),
            (330, 614, "TVA 20 %"),
            (480, 614, "500,00 €"),
            (330, 628, "Total TTC"),
            (480, 628, "3 000,00 €"),
            (40, 760, "IBAN : FR14 2004 1010 0505 0001 3M02 606"),
        ],
        {
            "invoice_number": "F-2024-031",
            "issue_date": date(2024, 1, 12),
            "due_date": date(2024, 2, 11),
            "net_amount": Decimal("2500.00"),
            "tax_amount": Decimal("500.00"),
            "total_amount": Decimal("3000.00"),
            "currency": "EUR",
            "vendor_tax_id": "FR40303265045",
            "vendor_iban": "FR1420041010050500013M02606",
        },
    ),
    "es": (
        [
            (40, 50, "Suministros Ibéricos S.L."),
            (40, 62, "NIF: ESB58378431"),
            (330, 120, "Número de factura: 2024/117"),
            (330, 132, "Fecha de factura: 15/01/2024"),
            (330, 144, "Fecha de vencimiento: 14/02/2024"),
            (330, 600, "Base imponible"),
            (480, 600, "100,00 €"),
            (330, 614, "IVA 21 %"),
            (480, 614, "21,00 €"),
            (330, 628, "Importe total"),
            (480, 628, "121,00 €"),
        ],
        {
            "invoice_number": "2024/117",
            "issue_date": date(2024, 1, 15),
            "due_date": date(2024, 2, 14),
            "net_amount": Decimal("100.00"),
            "tax_amount": Decimal("21.00"),
            "total_amount": Decimal("121.00"),
            "currency": "EUR",
            "vendor_tax_id": "ESB58378431",
        },
    ),
    "it": (
        [
            (40, 50, "Forniture Milano S.r.l."),
            (40, 62, "Partita IVA: IT00743110157"),
            (330, 120, "Fattura n. 45/2024"),
            (330, 132, "Data fattura: 5 settembre 2024"),
            (330, 600, "Imponibile"),
            (480, 600, "1.000,00"),
            (330, 614, "IVA 22%"),
            (480, 614, "220,00"),
            (330, 628, "Totale documento"),
            (480, 628, "EUR 1.220,00"),
            (40, 680, "Pagamento: bonifico entro 30 giorni data fattura"),
        ],
        {
            "invoice_number": "45/2024",
            "issue_date": date(2024, 9, 5),
            "due_date": date(2024, 10, 5),
            "net_amount": Decimal("1000.00"),
            "tax_amount": Decimal("220.00"),
            "total_amount": Decimal("1220.00"),
            "currency": "EUR",
            "vendor_tax_id": "IT00743110157",
        },
    ),
    "en_us": (
        [
            (40, 50, "Acme Office Supply Inc."),
            (330, 120, "Invoice #: 10045"),
            (330, 132, "Invoice Date: 03/04/2024"),
            (330, 144, "Terms: 2/10 Net 30"),
            (330, 156, "P.O. Number: PO-5531"),
            (40, 120, "Bill To:"),
            (40, 132, "Widget Corp"),
            (330, 580, "Previous Balance"),
            (480, 580, "$5,000.00"),
            (330, 600, "Subtotal"),
            (480, 600, "$1,250.00"),
            (330, 614, "Sales Tax"),
            (480, 614, "$103.13"),
            (330, 628, "Total Due"),
            (480, 628, "$1,353.13"),
            (40, 700, "Please remit payment by 04/03/2024"),
        ],
        {
            "invoice_number": "10045",
            "issue_date": date(2024, 3, 4),
            "po_number": "PO-5531",
            "net_amount": Decimal("1250.00"),
            "tax_amount": Decimal("103.13"),
            "total_amount": Decimal("1353.13"),
            "currency": "USD",
        },
    ),
}


@pytest.mark.parametrize("language", sorted(LANGUAGE_INVOICES))
def test_generated_invoice_in_each_language(language):
    lines, expected = LANGUAGE_INVOICES[language]
    result = extract_pdf_text(_invoice_pdf(lines))
    assert result is not None
    for name, value in expected.items():
        assert result.value(name) == value, name
    for name in ("net_amount", "tax_amount", "total_amount"):
        assert result.fields[name].confidence >= 0.9  # arithmetic checks out
    assert result.fields["invoice_number"].bbox.x0 >= 330


# --- Bad input -----------------------------------------------------------------------------


def test_truncated_pdf_is_corrupt(corpus_dir):
    data = (corpus_dir / COMPARE / "coolblue1.pdf").read_bytes()
    with pytest.raises(ExtractionError) as caught:
        extract_pdf_text(data[: len(data) // 3])
    assert caught.value.code == ExtractionErrorCode.CORRUPT_PDF


def test_random_bytes_are_corrupt():
    with pytest.raises(ExtractionError) as caught:
        extract_pdf_text(os.urandom(4096))
    assert caught.value.code == ExtractionErrorCode.CORRUPT_PDF


@pytest.fixture(scope="module")
def encrypted_pdf(corpus_dir) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(corpus_dir / COMPARE / "coolblue1.pdf"))
    writer.encrypt(user_password="s3cret", owner_password="owner-pw", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_encrypted_pdf_without_password(encrypted_pdf):
    with pytest.raises(ExtractionError) as caught:
        extract_pdf_text(encrypted_pdf)
    assert caught.value.code == ExtractionErrorCode.ENCRYPTED_PDF


def test_encrypted_pdf_with_wrong_password(encrypted_pdf):
    with pytest.raises(ExtractionError) as caught:
        extract_pdf_text(encrypted_pdf, password="guess")
    assert caught.value.code == ExtractionErrorCode.WRONG_PASSWORD


def test_encrypted_pdf_with_right_password(encrypted_pdf):
    result = extract_pdf_text(encrypted_pdf, password="s3cret")
    assert result.value("invoice_number") == "993548900"


def test_page_limit_is_checked_before_reading(corpus_dir):
    data = _invoice_pdf([(40, 40, "Invoice Number: 1")], pages=300)
    with pytest.raises(ExtractionError) as caught:
        extract_pdf_text(data, max_pages=50)
    assert caught.value.code == ExtractionErrorCode.TOO_MANY_PAGES
    assert caught.value.extra["pages"] == 300


def test_pdf_without_text_layer_returns_none(corpus_dir):
    from PIL import Image

    image = Image.open(corpus_dir / COMPARE / "oyo.png").convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=150)
    assert extract_pdf_text(buffer.getvalue()) is None


def test_garbage_text_is_detected():
    assert not is_usable_text("(cid:12)(cid:3)(cid:44)(cid:71) (cid:12)(cid:3)(cid:44)(cid:80)")
    assert not is_usable_text("§§§ ### ~~~ ||| ^^^ *** --- +++ %%% @@@")
    assert not is_usable_text("   ")
    assert is_usable_text("Rechnung Nr. 4711 vom 05.03.2018 Gesamtbetrag 1.190,00 EUR")


def test_many_pages_stream_through(corpus_dir):
    data = _invoice_pdf(
        [(40, 40, "Rechnungsnummer: 77"), (300, 700, "Gesamtbetrag 10,00 €")], pages=120
    )
    result = extract_pdf_text(data, max_pages=500)
    assert result.page_count == 120
    assert result.value("invoice_number") == "77"
