"""The extraction entry point: type sniffing, Factur-X PDFs, fallbacks and forced paths."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfWriter

from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.evaluation import compare
from apinvoices.extraction.pipeline import (
    extract_document,
    extract_embedded_einvoice,
    sniff_type,
)
from apinvoices.tests.extraction.corpus_cases import corpus_params, fail_pdf_params, is_fail_sample

FACTURX_ROWS = corpus_params(
    lambda row: row.kind == "facturx-pdf" and not is_fail_sample(row) and row.expected
)
FAIL_PDFS = fail_pdf_params()
BROKEN_XML_PDF = (
    "zugferd-corpus/ZUGFeRDv2/fail/Mustangproject/factur-x-invalid-xml-encoding-attribute.pdf"
)
BROKEN_XML_NAME = BROKEN_XML_PDF.removeprefix("zugferd-corpus/")
# fail/ PDFs whose embedded XML breaks the Factur-X/ZUGFeRD XSD. The other fail/ samples are
# rejected by validators for PDF/A or schematron rules, which are not checked offline.
XSD_FAILING = {
    "ZUGFeRDv2/fail/MustangRE-20171118_506_ZUGFeRD1and2.pdf",  # its unchosen factur-x.xml
    "ZUGFeRDv2/fail/Mustangproject/MustangGnuaccountingBeispielRE-20171118_506.pdf",
    "ZUGFeRDv2/fail/Mustangproject/MustangGnuaccountingBeispielRE-20190610_507a.pdf",
    "ZUGFeRDv2/fail/Mustangproject/MustangGnuaccountingBeispielRE-20190610_507b.pdf",
    "ZUGFeRDv2/fail/python-factur-x/python-factur-x.pdf",
    "ZUGFeRDv2/fail/FNFE-factur-x-examples/Avoir_FR_type380_MINIMUM.pdf",
    "ZUGFeRDv2/fail/FNFE-factur-x-examples/Avoir_FR_type381_MINIMUM.pdf",
}


def needs_text_layer():
    return pytest.importorskip(
        "apinvoices.extraction.pdftext", reason="text-layer step not built yet"
    )


def pdf_with_attachments(attachments: dict[str, bytes], *, password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    for name, data in attachments.items():
        writer.add_attachment(name, data)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("row", FACTURX_ROWS)
def test_factur_x_pdf_uses_the_embedded_xml(row):
    result = extract_document(row.path.read_bytes(), filename=row.path.name)

    assert result.kind == "facturx"
    assert compare(row.expected, result) == {}
    if row.line_count is not None:
        assert len(result.lines) == row.line_count
    assert result.page_count >= 1


def test_pdf_with_zugferd_1_and_broken_factur_x_prefers_the_schema_valid_one(corpus_dir):
    path = corpus_dir / "zugferd-corpus/ZUGFeRDv2/fail/MustangRE-20171118_506_ZUGFeRD1and2.pdf"
    result = extract_document(path.read_bytes())

    assert result.kind == "facturx"
    assert result.warnings[0] == "read from the embedded ZUGFeRD-invoice.xml"
    assert result.value("total_amount") == Decimal("571.04")


# Why validators reject each fail/ sample, as the finding that names the rule. Every one must be
# reported and, its XML not being authoritative, read from the text layer instead; the PDF that
# also carries a valid ZUGFeRD 1.0 XML is read from that one.
FAIL_REASONS = {
    "FNFE-factur-x-examples/Avoir_FR_type380_BASIC.pdf": "unknown specification identifier",
    "FNFE-factur-x-examples/Avoir_FR_type380_EN16931.pdf": "CII-DT-031 currencyID",
    "FNFE-factur-x-examples/Avoir_FR_type380_MINIMUM.pdf": "CII-DT-031 currencyID",
    "FNFE-factur-x-examples/Avoir_FR_type381_BASICWL.pdf": "CII-DT-031 currencyID",
    "FNFE-factur-x-examples/Avoir_FR_type381_EN16931.pdf": "CII-DT-031 currencyID",
    "FNFE-factur-x-examples/Avoir_FR_type381_MINIMUM.pdf": "CII-DT-031 currencyID",
    "FNFE-factur-x-examples/Facture_DOM_BASIC.pdf": "unknown specification identifier",
    "FNFE-factur-x-examples/Facture_DOM_EN16931.pdf": "CII-DT-031 currencyID",
    "FNFE-factur-x-examples/Facture_FR_BASIC.pdf": "unknown specification identifier",
    "FNFE-factur-x-examples/Facture_FR_EN16931.pdf": "CII-DT-031 currencyID",
    "FNFE-factur-x-examples/Facture_UE_BASIC.pdf": "unknown specification identifier",
    "FNFE-factur-x-examples/Facture_UE_EN16931.pdf": "CII-DT-031 currencyID",
    "MustangRE-20171118_506_ZUGFeRD1and2.pdf": "unknown specification identifier",
    "Mustangproject/MustangGnuaccountingBeispielRE-20171118_506.pdf": "CII-DT-031 currencyID",
    "Mustangproject/MustangGnuaccountingBeispielRE-20190610_507a.pdf": "outside the CII",
    "Mustangproject/MustangGnuaccountingBeispielRE-20190610_507b.pdf": "outside the CII",
    "Mustangproject/factur-x-invalid-xml-encoding-attribute.pdf": "not well-formed",
    "ZUGFeRD_2.0_fully_compliant_complete.pdf": "not UN/ECE Recommendation 20 codes",
    "ZUGFeRD_2_fully_compliant_complete.pdf": "PDF/A level A",
    "python-factur-x/python-factur-x.pdf": "unknown specification identifier",
}


def test_every_fail_sample_has_a_stated_reason():
    assert len(FAIL_REASONS) == 20
    names = {p.values[0] for p in FAIL_PDFS}
    if names != {None}:
        assert names == {f"ZUGFeRDv2/fail/{name}" for name in FAIL_REASONS}


@pytest.mark.parametrize("name", FAIL_PDFS)
def test_fail_samples_are_reported_and_read_from_the_text_layer(corpus_dir, name):
    needs_text_layer()
    result = extract_document((corpus_dir / "zugferd-corpus" / name).read_bytes())

    # What the text layer reads is the text-layer tests' business (the French credit notes
    # print "Avoir AV-2017-0005", a label it does not know yet); here: it was read at all.
    assert result.value("total_amount") is not None
    reason = FAIL_REASONS[name.removeprefix("ZUGFeRDv2/fail/")]
    assert result.errors[0].startswith("invalid e-invoice: ")
    assert any(reason in e for e in result.errors if e.startswith("invalid e-invoice: "))
    if name == "ZUGFeRDv2/fail/MustangRE-20171118_506_ZUGFeRD1and2.pdf":
        assert result.kind == "facturx"
        assert result.warnings[0] == "read from the embedded ZUGFeRD-invoice.xml"
    else:
        assert result.kind == "pdf_text"
    if name in XSD_FAILING:
        messages = result.errors + result.warnings
        assert any(m.startswith("invalid e-invoice (schema):") for m in messages)


def test_broken_embedded_xml_gives_a_finding_when_forced(corpus_dir):
    data = (corpus_dir / BROKEN_XML_PDF).read_bytes()
    with pytest.raises(ExtractionError) as excinfo:
        extract_document(data, force="xml")
    assert excinfo.value.code == ExtractionErrorCode.INVALID_EINVOICE
    assert "factur-x.xml" in excinfo.value.message


def test_broken_embedded_xml_is_reported_and_text_layer_used(corpus_dir):
    needs_text_layer()
    result = extract_document((corpus_dir / BROKEN_XML_PDF).read_bytes())

    assert result.kind == "pdf_text"
    assert result.errors[0].startswith("invalid e-invoice: factur-x.xml:")
    assert result.value("invoice_number") == "RE-20190610/507"


def test_factur_x_text_layer_alone_when_forced(corpus_dir):
    needs_text_layer()
    path = corpus_dir / "zugferd-corpus/XML-Rechnung/FX/EN16931_Einfach.pdf"
    result = extract_document(path.read_bytes(), force="pdf_text")

    assert result.kind == "pdf_text"
    assert all(fv.source != "xml" for fv in result.fields.values())


def test_xxe_in_an_attachment_is_refused_and_reported(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    hostile = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
        "&xxe;</rsm:CrossIndustryInvoice>"
    ).encode()
    result, findings = extract_embedded_einvoice(pdf_with_attachments({"factur-x.xml": hostile}))

    assert result is None
    assert len(findings) == 1 and findings[0].startswith("invalid e-invoice: factur-x.xml:")
    assert "DOCTYPE" in findings[0] and "TOP-SECRET" not in findings[0]


def test_non_invoice_attachments_are_ignored_and_the_invoice_found(corpus_dir):
    invoice = (corpus_dir / "en16931-examples/cii/examples/CII_example1.xml").read_bytes()
    data = pdf_with_attachments(
        {"logistics.xml": b"<deliveries><delivery id='1'/></deliveries>", "invoice.xml": invoice}
    )
    result = extract_document(data, force="xml")

    assert result.kind == "facturx"
    assert result.errors == []
    assert result.value("invoice_number") == "12115118"


def test_encrypted_pdf_attachment_needs_the_password(corpus_dir):
    invoice = (corpus_dir / "en16931-examples/cii/examples/CII_example1.xml").read_bytes()
    data = pdf_with_attachments({"factur-x.xml": invoice}, password="s3cret")

    assert extract_embedded_einvoice(data)[0] is None
    result = extract_document(data, password="s3cret", force="xml")
    assert result.value("total_amount") == Decimal("250.33")


def test_pdf_without_xml_forced_to_xml_is_not_an_invoice(corpus_dir):
    data = (corpus_dir / "invoice2data-compare/tests/compare/AmazonWebServices.pdf").read_bytes()
    with pytest.raises(ExtractionError) as excinfo:
        extract_document(data, force="xml")
    assert excinfo.value.code == ExtractionErrorCode.NOT_AN_INVOICE


def test_type_is_sniffed_from_content_not_name(corpus_dir):
    xml = (corpus_dir / "en16931-examples/cii/examples/CII_example1.xml").read_bytes()
    result = extract_document(xml, filename="looks-like.pdf")
    assert result.kind == "cii"

    assert sniff_type(b"%PDF-1.7\n...") == "pdf"
    assert sniff_type(b"\x89PNG\r\n\x1a\n....") == "image"
    assert sniff_type(b"\xff\xd8\xff\xe0....") == "image"
    assert sniff_type(b"II*\x00....") == "image"
    assert sniff_type(b"\xef\xbb\xbf  <?xml version='1.0'?><a/>") == "xml"


@pytest.mark.parametrize("data", [b"PK\x03\x04zipfile", b"hello world", b"", b"GIF89a...."])
def test_unsupported_content_is_refused(data):
    with pytest.raises(ExtractionError) as excinfo:
        extract_document(data, filename="invoice.pdf")
    assert excinfo.value.code == ExtractionErrorCode.UNSUPPORTED_TYPE


def test_xml_cannot_be_forced_to_another_path(corpus_dir):
    xml = (corpus_dir / "en16931-examples/cii/examples/CII_example1.xml").read_bytes()
    with pytest.raises(ExtractionError) as excinfo:
        extract_document(xml, force="ocr")
    assert excinfo.value.code == ExtractionErrorCode.UNSUPPORTED_TYPE
    with pytest.raises(ValueError):
        extract_document(xml, force="magic")


@pytest.mark.ocr
def test_image_goes_to_ocr(corpus_dir):
    pytest.importorskip("apinvoices.extraction.ocr", reason="OCR step not built yet")
    data = (corpus_dir / "invoice2data-compare/tests/compare/AmazonWebServices.png").read_bytes()

    result = extract_document(data, filename="scan.pdf")

    assert result.kind == "ocr"
    assert "Amazon" in result.text
    with pytest.raises(ExtractionError) as excinfo:
        extract_document(data, force="pdf_text")
    assert excinfo.value.code == ExtractionErrorCode.UNSUPPORTED_TYPE


def test_corrupt_pdf_is_refused_by_the_text_step():
    needs_text_layer()
    with pytest.raises(ExtractionError) as excinfo:
        extract_document(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", filename="x.pdf")
    assert excinfo.value.code == ExtractionErrorCode.CORRUPT_PDF
