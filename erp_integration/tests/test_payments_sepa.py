"""SEPA pain.001 files: XSD-valid for both versions, with exact counts and control sums."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree
from sepaxml.validation import try_valid_xml

from erp_integration.payments import PaymentFileError
from erp_integration.payments.sepa import (
    SUPPORTED_VERSIONS,
    SepaDebtor,
    SepaPayment,
    SepaRun,
    build_pain001,
    validate_pain001,
)

DEBTOR = SepaDebtor(name="AP Workbench GmbH", iban="DE89 3704 0044 0532 0130 00",
                    bic="COBADEFFXXX")


def payment(i: int, amount: str, *, day: int = 1, **changes) -> SepaPayment:
    base = SepaPayment(creditor_name=f"Lieferant Müller {i} & Söhne",
                       iban="FR14 2004 1010 0505 0001 3M02 606", bic="",
                       amount=Decimal(amount), end_to_end_id=f"AP-2026-{i:05d}",
                       remittance=f"INV-{i:04d} INV-{i + 1:04d}",
                       execution_date=date(2026, 4, day))
    return dataclasses.replace(base, **changes)


def parsed(data: bytes, version: str) -> tuple[etree._Element, dict[str, str]]:
    return etree.fromstring(data), {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_file_validates_and_header_counts_and_sums_are_exact(version):
    run = SepaRun(debtor=DEBTOR, payments=(
        payment(1, "0.10"), payment(2, "0.20"), payment(3, "999999.99", bic="BNPAFRPPXXX"),
        payment(4, "1234.56", day=15)))

    data = build_pain001(run, version=version)

    try_valid_xml(data, version)  # a second, independent validator (xmlschema) agrees
    root, ns = parsed(data, version)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns) == "4"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "1001234.85"
    batches = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", namespaces=ns)
    summary = sorted((b.findtext("p:NbOfTxs", namespaces=ns),
                      b.findtext("p:CtrlSum", namespaces=ns)) for b in batches)
    assert summary == [("1", "1234.56"), ("3", "1000000.29")]
    amounts = [Decimal(a.text) for a in root.iterfind(".//p:InstdAmt", namespaces=ns)]
    assert sum(amounts) == Decimal("1001234.85")
    assert {a.get("Ccy") for a in root.iterfind(".//p:InstdAmt", namespaces=ns)} == {"EUR"}
    e2e = [e.text for e in root.iterfind(".//p:EndToEndId", namespaces=ns)]
    assert sorted(e2e) == [f"AP-2026-{i:05d}" for i in range(1, 5)]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_names_are_transliterated_and_remittance_kept(version):
    data = build_pain001(SepaRun(debtor=DEBTOR, payments=(payment(7, "10.00"),)),
                         version=version)
    root, ns = parsed(data, version)
    assert root.findtext(".//p:Cdtr/p:Nm", namespaces=ns) == "Lieferant Muller 7 & Sohne"
    assert root.findtext(".//p:RmtInf/p:Ustrd", namespaces=ns) == "INV-0007 INV-0008"
    assert root.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=ns) == \
        "FR1420041010050500013M02606"


def test_version_specific_elements_are_used():
    run = SepaRun(debtor=DEBTOR, payments=(payment(1, "5.00", bic="BNPAFRPPXXX"),))
    v09, ns09 = parsed(build_pain001(run, version="pain.001.001.09"), "pain.001.001.09")
    v03, ns03 = parsed(build_pain001(run, version="pain.001.001.03"), "pain.001.001.03")
    assert v09.findtext(".//p:ReqdExctnDt/p:Dt", namespaces=ns09) == "2026-04-01"
    assert v09.findtext(".//p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=ns09) == "BNPAFRPPXXX"
    assert v03.findtext(".//p:ReqdExctnDt", namespaces=ns03) == "2026-04-01"
    assert v03.findtext(".//p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=ns03) == "BNPAFRPPXXX"


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"iban": "DE89370400440532013001"}, "IBAN"),
    ({"bic": "NOTABIC"}, "BIC"),
    ({"currency": "USD"}, "EUR only"),
    ({"amount": Decimal("10.005")}, "more than two decimals"),
    ({"amount": Decimal(0)}, "outside"),
    ({"end_to_end_id": "AP/ü/1"}, "end-to-end id"),
    ({"end_to_end_id": "X" * 36}, "end-to-end id"),
    ({"remittance": "INV " * 36}, "remittance text has 144"),
    ({"creditor_name": "  "}, "creditor name is empty"),
])
def test_bad_payment_is_refused_with_a_clear_message(changes, fragment):
    bad = dataclasses.replace(payment(2, "2.00"), **changes)
    run = SepaRun(debtor=DEBTOR, payments=(payment(1, "1.00"), bad))
    with pytest.raises(PaymentFileError) as excinfo:
        build_pain001(run)
    assert fragment in str(excinfo.value) and "payment 2 (" in str(excinfo.value)


def test_duplicate_end_to_end_id_and_empty_run_are_refused():
    with pytest.raises(PaymentFileError, match="used twice"):
        build_pain001(SepaRun(debtor=DEBTOR, payments=(payment(1, "1.00"), payment(1, "2.00"))))
    with pytest.raises(PaymentFileError, match="at least one payment"):
        build_pain001(SepaRun(debtor=DEBTOR, payments=()))
    with pytest.raises(PaymentFileError, match="unsupported"):
        build_pain001(SepaRun(debtor=DEBTOR, payments=(payment(1, "1.00"),)),
                      version="pain.001.001.02")


def test_output_that_breaks_the_xsd_is_refused_not_returned():
    """GIVEN a debtor without a name (sepaxml writes an empty <Nm>) WHEN building
    THEN the XSD check rejects the file and says where."""
    run = SepaRun(debtor=dataclasses.replace(DEBTOR, name=""), payments=(payment(1, "1.00"),))
    with pytest.raises(PaymentFileError, match="does not validate against its XSD: line"):
        build_pain001(run)


def test_validate_rejects_a_tampered_file():
    data = build_pain001(SepaRun(debtor=DEBTOR, payments=(payment(1, "12.34"),)),
                         version="pain.001.001.03")
    with pytest.raises(PaymentFileError, match="does not validate"):
        validate_pain001(data.replace(b">12.34<", b">12,34<"), version="pain.001.001.03")
    with pytest.raises(PaymentFileError, match="not well-formed"):
        validate_pain001(data[:-20], version="pain.001.001.03")
