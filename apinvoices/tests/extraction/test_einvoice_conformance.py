"""EN 16931 / Factur-X conformance rules that make an e-invoice not authoritative.

Each rule is shown on a valid corpus invoice changed in exactly one place: the original passes,
the changed one yields exactly that rule's finding. The ``fail/`` samples themselves are covered
in test_pipeline.py.
"""

from __future__ import annotations

import pytest

from apinvoices.extraction.einvoice import (
    cii_conformance_findings,
    parse_einvoice,
    parse_xml_safely,
)
from apinvoices.extraction.pipeline import (
    EmbeddedXml,
    PdfPackage,
    extract_embedded_einvoice,
    packaging_findings,
)

VALID_CII = "zugferd-corpus/XML-Rechnung/CII/EN16931_Einfach.cii.xml"


@pytest.fixture
def cii(corpus_dir) -> str:
    return (corpus_dir / VALID_CII).read_text(encoding="utf-8")


def findings(xml: str) -> list[str]:
    return cii_conformance_findings(parse_xml_safely(xml.encode()))


def test_the_valid_invoice_passes(cii):
    assert findings(cii) == []
    assert parse_einvoice(cii.encode()).errors == []


def changed(xml: str, old: str, new: str) -> str:
    assert xml.count(old) >= 1, old
    return xml.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (
            "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>",
            "<ram:ID>urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic</ram:ID>",
            "unknown specification identifier (BT-24)",
        ),
        (
            "<ram:TaxBasisTotalAmount>",
            '<ram:TaxBasisTotalAmount currencyID="EUR">',
            "CII-DT-031 currencyID is only allowed on TaxTotalAmount, found on TaxBasisTotalAmount",
        ),
        (
            "<ram:Name>",
            "<Name xmlns=''>",
            "elements outside the CII namespaces: Name",
        ),
        ('unitCode="H87"', 'unitCode="ST"', "unit code(s) ST are not UN/ECE Recommendation 20"),
    ],
)
def test_structural_rules(cii, old, new, rule):
    new_xml = changed(cii, old, new)
    if old == "<ram:Name>":  # the Mustang 507a/b mistake: an element without its prefix
        new_xml = new_xml.replace("</ram:Name>", "</Name>", 1)

    found = findings(new_xml)

    assert len(found) == 1, found
    assert found[0].startswith("invalid e-invoice: ")
    assert rule in found[0]


def _amount(xml: str, tag: str) -> str:
    start = xml.index(f"<ram:{tag}")
    start = xml.index(">", start) + 1
    return xml[start : xml.index("<", start)]


def _bump(xml: str, tag: str) -> str:
    """The first ``tag`` amount plus 1.00."""
    from decimal import Decimal

    value = _amount(xml, tag)
    start = xml.index(f"<ram:{tag}")
    end = xml.index(f"</ram:{tag}>", start)
    head = xml[:start] + xml[start:end].replace(value, str(Decimal(value) + 1))
    return head + xml[end:]


@pytest.mark.parametrize(
    ("tag", "rule"),
    [
        ("LineTotalAmount>", "BR-CO-10"),  # first LineTotalAmount is a line's net amount
        ("DuePayableAmount", "BR-CO-16"),
    ],
)
def test_arithmetic_rules(cii, tag, rule):
    found = findings(_bump(cii, tag.rstrip(">")))

    assert any(rule in f for f in found), found


def test_vat_breakdown_must_add_up_to_the_vat_total(cii):
    found = findings(_bump(cii, "CalculatedAmount"))

    assert any("BR-CO-14" in f for f in found), found


def test_the_line_total_must_give_the_total_without_vat(cii):
    settlement = cii.index("<ram:SpecifiedTradeSettlementHeaderMonetarySummation>")
    head, tail = cii[:settlement], cii[settlement:]
    found = findings(head + _bump(tail, "TaxBasisTotalAmount"))

    assert any("BR-CO-13" in f for f in found), found


# --- packaging (pure: what read_pdf_package found in the PDF) -----------------------------------


def package(**kw) -> PdfPackage:
    defaults = dict(xmp_file_name="factur-x.xml", xmp_level="EN 16931", pdfa_conformance="B")
    defaults.update(kw)
    return PdfPackage(**defaults)


def attachment(cii: str, name="factur-x.xml", relationship="Alternative") -> EmbeddedXml:
    return EmbeddedXml(name=name, data=cii.encode(), relationship=relationship)


def test_a_well_packaged_factur_x_has_no_packaging_findings(cii):
    assert packaging_findings(package(), attachment(cii)) == ([], [])


@pytest.mark.parametrize(
    ("kw", "att", "expected"),
    [
        ({"xmp_file_name": "zugferd-invoice.xml"}, {}, "the XMP metadata names"),
        ({"xmp_level": "BASIC"}, {}, "XMP ConformanceLevel 'BASIC' does not match"),
        ({}, {"relationship": "Supplement"}, "AFRelationship is Supplement"),
        ({"pdfa_conformance": "A"}, {}, "PDF/A level A"),
    ],
)
def test_contradictions_reject_the_xml(cii, kw, att, expected):
    contradictions, omissions = packaging_findings(package(**kw), attachment(cii, **att))

    assert omissions == []
    assert len(contradictions) == 1 and expected in contradictions[0]


def test_omissions_are_reported_but_keep_the_xml(cii):
    contradictions, omissions = packaging_findings(
        package(xmp_file_name=None, xmp_level=None), attachment(cii, relationship=None)
    )

    assert contradictions == []
    assert len(omissions) == 2
    assert all(o.startswith("invalid e-invoice (packaging): factur-x.xml:") for o in omissions)


def test_an_xml_merely_attached_to_a_plain_pdf_is_not_held_to_factur_x_rules(cii):
    plain = PdfPackage()  # no XMP announcement, e.g. Odoo's UBL attachment

    assert packaging_findings(plain, attachment(cii, name="UBL-Invoice-2.1.xml")) == ([], [])


def test_a_pdf_without_xmp_still_uses_its_factur_x_xml_with_warnings(cii):
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("factur-x.xml", cii.encode())
    out = io.BytesIO()
    writer.write(out)

    result, rejected = extract_embedded_einvoice(out.getvalue())

    assert rejected == []
    assert result is not None and result.kind == "facturx"
    assert result.warnings[0] == "read from the embedded factur-x.xml"
    assert any("XMP metadata does not announce" in w for w in result.warnings)
