"""E-invoice XML against the corpus ground truth, and hostile or broken XML."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apinvoices.extraction.einvoice import parse_einvoice
from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.evaluation import compare
from apinvoices.tests.extraction.corpus_cases import corpus_params, is_fail_sample

XML_ROWS = corpus_params(lambda row: row.kind == "xml" and not is_fail_sample(row))


@pytest.mark.parametrize("row", XML_ROWS)
def test_corpus_xml_matches_ground_truth_on_every_field(row):
    result = parse_einvoice(row.path.read_bytes())

    assert compare(row.expected, result) == {}
    if row.line_count is not None:
        assert len(result.lines) == row.line_count
    assert result.kind == ("ubl" if row.syntax.startswith("UBL") else "cii")
    assert {fv.source for fv in result.fields.values()} == {"xml"}
    assert {fv.confidence for fv in result.fields.values()} == {1.0}


def test_corpus_covers_every_supported_syntax():
    syntaxes = {p.values[0].syntax for p in XML_ROWS if p.values[0] is not None}
    if not syntaxes:
        pytest.skip("invoice corpus not found")
    assert {"UBL Invoice", "UBL CreditNote", "CII D16B"} <= syntaxes


def test_ubl_credit_note_reads_type_bank_details_and_lines(corpus_dir):
    result = parse_einvoice(
        (corpus_dir / "en16931-examples/ubl/examples/ubl-tc434-creditnote1.xml").read_bytes()
    )

    assert result.value("document_type") == "credit_note"
    assert result.value("invoice_number") == "018304 / 28865"
    assert result.value("vendor_iban") == "BE91000000143476"
    assert result.value("vendor_bic") == "BPOTBEB1"
    assert [(line.quantity, line.amount) for line in result.lines] == [
        (Decimal("1.00"), Decimal("100.11"))
    ]
    assert [(t.category, t.base) for t in result.taxes] == [("E", Decimal("100.11"))]


def test_ubl_credit_note_due_date_comes_from_payment_means():
    data = b"""<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
      xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
      xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
      <cbc:ID>CN-7</cbc:ID><cbc:IssueDate>2024-02-01</cbc:IssueDate>
      <cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>
      <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>
        <cbc:PaymentDueDate>2024-03-02</cbc:PaymentDueDate></cac:PaymentMeans>
    </CreditNote>"""
    result = parse_einvoice(data)

    assert result.value("document_type") == "credit_note"
    assert result.value("due_date") == date(2024, 3, 2)


def test_cii_credit_note_type_code_381(corpus_dir):
    path = (
        corpus_dir / "zugferd-corpus/ZUGFeRDv2/correct/Mustangproject/testout-ZF2PushCreditNote.xml"
    )
    result = parse_einvoice(path.read_bytes())

    assert result.value("document_type") == "credit_note"
    assert result.value("total_amount") == Decimal("3.57")


def test_cii_lines_and_tax_breakdown_per_rate(corpus_dir):
    result = parse_einvoice(
        (corpus_dir / "en16931-examples/cii/examples/CII_example1.xml").read_bytes()
    )

    assert len(result.lines) == 20
    first = result.lines[0]
    assert (first.description, first.quantity, first.unit_price, first.amount, first.tax_rate) == (
        "PATAT FRITES 10MM 10KG",
        Decimal(2),
        Decimal("9.95"),
        Decimal("19.9"),
        Decimal(6),
    )
    assert [(t.rate, t.base, t.amount) for t in result.taxes] == [
        (Decimal(6), Decimal("183.23"), Decimal("10.99")),
        (Decimal(21), Decimal("46.37"), Decimal("9.74")),
    ]
    assert sum(t.amount for t in result.taxes) == result.value("tax_amount")
    assert sum(line.amount for line in result.lines) == result.value("net_amount")


def test_zugferd_1_document_is_read(corpus_dir):
    path = (
        corpus_dir
        / "zugferd-corpus/ZUGFeRDv1/correct/Intarsys/ZUGFeRD_1p0_COMFORT_Rabatte.pdf.embedded.ZUGFeRD-invoice.xml"
    )
    result = parse_einvoice(path.read_bytes())

    assert result.value("invoice_number") == "471102"
    assert result.value("issue_date") == date(2013, 6, 5)
    assert result.value("due_date") == date(2013, 7, 4)
    assert result.value("amount_due") == Decimal("165.14")
    assert result.value("total_amount") == Decimal("215.14")
    assert result.value("po_number") == "2013-471331"
    assert len(result.lines) == 5 and all(line.description for line in result.lines)
    assert (
        result.lines[0].description.startswith("Wir erlauben uns")
        and result.lines[0].amount is None
    )
    assert result.taxes and all(t.rate > 0 for t in result.taxes)


def test_business_rule_violation_is_reported(corpus_dir):
    path = (
        corpus_dir
        / "zugferd-corpus/XML-Rechnung/UBL/not_validating_full_invoice_based_onTest_EeISI_300_CENfullmodel.ubl.xml"
    )
    result = parse_einvoice(path.read_bytes())

    assert any(e.startswith("invalid e-invoice: BR-CO-15") for e in result.errors)


def test_pre_1_0_zugferd_draft_is_an_invalid_einvoice(corpus_dir):
    path = (
        corpus_dir
        / "zugferd-corpus/ZUGFeRDv1/correct/Mustangproject/MustangGnuaccountingBeispielRE-20140519_499.pdf.embedded.ZUGFeRD-invoice.xml"
    )
    with pytest.raises(ExtractionError) as excinfo:
        parse_einvoice(path.read_bytes())
    assert excinfo.value.code == ExtractionErrorCode.INVALID_EINVOICE


# --- hand-made documents -----------------------------------------------------------------------

CII_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>{prolog}
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
    <ram:ID>urn:cen.eu:en16931:2017</ram:ID>
  </ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">{issued}</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Seller GmbH</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">12/345/67890</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>Buyer SA</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">FR40303265045</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:TaxBasisTotalAmount>{net}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="USD">21.40</ram:TaxTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">19.00</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>119.00</ram:GrandTotalAmount>
        <ram:DuePayableAmount>119.00</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""


def cii(prolog="", number="INV-1", issued="20240131", net="100.00") -> bytes:
    return CII_TEMPLATE.format(prolog=prolog, number=number, issued=issued, net=net).encode()


def test_seller_vat_is_never_taken_from_the_buyer():
    result = parse_einvoice(cii())

    assert result.value("vendor_name") == "Seller GmbH"
    assert result.value("vendor_tax_id") is None
    assert result.value("tax_amount") == Decimal("19.00")  # the invoice currency, not USD
    assert result.value("issue_date") == date(2024, 1, 31)
    assert result.errors == []


def test_xxe_external_entity_is_refused_and_nothing_is_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    prolog = f'\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    with pytest.raises(ExtractionError) as excinfo:
        parse_einvoice(cii(prolog=prolog, number="&xxe;"))
    assert excinfo.value.code == ExtractionErrorCode.INVALID_EINVOICE
    assert "TOP-SECRET" not in excinfo.value.message


def test_billion_laughs_is_refused_quickly():
    lol = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    with pytest.raises(ExtractionError) as excinfo:
        parse_einvoice(cii(prolog=f"\n<!DOCTYPE lolz [{lol}]>", number="&lol9;"))
    assert excinfo.value.code == ExtractionErrorCode.INVALID_EINVOICE


def test_external_dtd_and_parameter_entities_are_refused():
    for prolog in (
        '\n<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '\n<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>',
    ):
        with pytest.raises(ExtractionError) as excinfo:
            parse_einvoice(cii(prolog=prolog))
        assert excinfo.value.code == ExtractionErrorCode.INVALID_EINVOICE


@pytest.mark.parametrize(
    "data",
    [
        b"<?xml version='1.0'?><html><body>hello</body></html>",
        b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>',
        b"<root/>",
    ],
)
def test_well_formed_xml_of_another_kind_is_not_an_invoice(data):
    with pytest.raises(ExtractionError) as excinfo:
        parse_einvoice(data)
    assert excinfo.value.code == ExtractionErrorCode.NOT_AN_INVOICE


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (cii()[:-80], "not well-formed"),
        (cii(number=""), "BT-1"),
        (cii(issued="20241332"), "issue date"),
        (cii(net="100,00"), "BT-109"),
        (b"<?xml version='1.0' encoding='bogus-9'?><a/>", "XML"),
    ],
)
def test_broken_einvoice_gives_invalid_einvoice_with_a_specific_message(data, fragment):
    with pytest.raises(ExtractionError) as excinfo:
        parse_einvoice(data)
    assert excinfo.value.code == ExtractionErrorCode.INVALID_EINVOICE
    assert fragment in excinfo.value.message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_doctype_is_refused_in_wide_encodings_too(encoding, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    text = cii(
        prolog=f'\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>', number="&xxe;"
    ).decode()
    data = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"').encode(encoding)
    with pytest.raises(ExtractionError) as excinfo:
        parse_einvoice(data)
    assert excinfo.value.code == ExtractionErrorCode.INVALID_EINVOICE


def test_utf16_einvoice_is_read():
    data = cii().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert parse_einvoice(data).value("invoice_number") == "INV-1"


def test_price_per_base_quantity_becomes_a_unit_price():
    data = b"""<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
      xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
      xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
      <cbc:ID>I-9</cbc:ID><cbc:IssueDate>2024-02-01</cbc:IssueDate>
      <cac:InvoiceLine><cbc:InvoicedQuantity unitCode="C62">300</cbc:InvoicedQuantity>
        <cbc:LineExtensionAmount currencyID="EUR">10.00</cbc:LineExtensionAmount>
        <cac:Item><cbc:Name>Screws</cbc:Name></cac:Item>
        <cac:Price><cbc:PriceAmount currencyID="EUR">10.00</cbc:PriceAmount>
          <cbc:BaseQuantity unitCode="C62">300</cbc:BaseQuantity></cac:Price></cac:InvoiceLine>
    </Invoice>"""
    (line,) = parse_einvoice(data).lines

    assert (line.description, line.quantity, line.amount) == (
        "Screws",
        Decimal(300),
        Decimal("10.00"),
    )
    assert line.unit_price == Decimal("0.033333")
