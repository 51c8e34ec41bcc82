"""SEPA credit transfer initiation files (ISO 20022 pain.001) built with ``sepaxml``.

Guarantees of ``build_pain001``:
- every input is checked first (IBAN checksum, BIC, EUR only, positive amount with at most two
  decimals, end-to-end id in the SEPA character set and ≤ 35 chars, remittance ≤ 140 chars) and a
  bad one raises ``PaymentFileError`` naming the payment, before any XML is produced;
- the file validates against the XSD bundled with sepaxml for the chosen version (offline), and
  its group header's NbOfTxs and CtrlSum equal the count and exact Decimal sum of the payments;
  otherwise ``PaymentFileError`` is raised and no bytes are returned.

Payments are batched per requested execution date (one PmtInf each). Names are transliterated to
the SEPA Latin subset and cut at 70 characters by sepaxml (``clean=True``), which banks expect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal

from lxml import etree
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer

from erp_integration.payments import PaymentFileError

Pain001Version = Literal["pain.001.001.09", "pain.001.001.03"]
SUPPORTED_VERSIONS: tuple[str, ...] = ("pain.001.001.09", "pain.001.001.03")
MAX_AMOUNT = Decimal("999999999.99")  # the SEPA rulebook's ceiling for one credit transfer
MAX_END_TO_END_ID = 35
MAX_REMITTANCE = 140
# EPC "SEPA Requirements for an Extended Character Set", basic Latin subset.
_SEPA_TEXT = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]*$")


@dataclass(frozen=True)
class SepaDebtor:
    name: str
    iban: str
    bic: str = ""


@dataclass(frozen=True)
class SepaPayment:
    creditor_name: str
    iban: str
    amount: Decimal
    end_to_end_id: str
    remittance: str  # unstructured, e.g. "INV-2026-001 INV-2026-007"
    execution_date: date
    bic: str = ""
    currency: str = "EUR"


@dataclass(frozen=True)
class SepaRun:
    debtor: SepaDebtor
    payments: tuple[SepaPayment, ...] = field(default_factory=tuple)


def to_cents(amount: Decimal, *, what: str) -> int:
    """Exact integer cents; refuses more than two decimals instead of rounding money away."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise PaymentFileError(f"{what}: amount {amount} has more than two decimals")
    return int(cents)


def _check_iban(value: str, *, what: str) -> str:
    try:
        return IBAN(value).compact
    except SchwiftyException as err:
        raise PaymentFileError(f"{what}: IBAN {value!r} is invalid ({err})") from err


def _check_bic(value: str, *, what: str) -> str:
    if not value:
        return ""
    try:
        return str(BIC(value))
    except SchwiftyException as err:
        raise PaymentFileError(f"{what}: BIC {value!r} is invalid ({err})") from err


def _payment_dict(payment: SepaPayment, index: int) -> dict:
    what = f"payment {index + 1} ({payment.end_to_end_id or payment.creditor_name})"
    if payment.currency != "EUR":
        raise PaymentFileError(f"{what}: SEPA credit transfers are EUR only, not "
                               f"{payment.currency}")
    if not (Decimal("0.01") <= payment.amount <= MAX_AMOUNT):
        raise PaymentFileError(f"{what}: amount {payment.amount} is outside 0.01–{MAX_AMOUNT}")
    if not payment.creditor_name.strip():
        raise PaymentFileError(f"{what}: creditor name is empty")
    e2e = payment.end_to_end_id
    if not e2e or len(e2e) > MAX_END_TO_END_ID or not _SEPA_TEXT.match(e2e) \
            or e2e.startswith("/") or e2e.endswith("/") or "//" in e2e:
        raise PaymentFileError(f"{what}: end-to-end id {e2e!r} must be 1–35 characters of the "
                               f"SEPA set, without leading, trailing or double '/'")
    if len(payment.remittance) > MAX_REMITTANCE:
        raise PaymentFileError(f"{what}: remittance text has {len(payment.remittance)} "
                               f"characters; SEPA allows {MAX_REMITTANCE}")
    result = {
        "name": payment.creditor_name,
        "IBAN": _check_iban(payment.iban, what=what),
        "amount": to_cents(payment.amount, what=what),
        "execution_date": payment.execution_date,
        "description": payment.remittance or e2e,
        "endtoend_id": e2e,
        "currency": "EUR",
    }
    bic = _check_bic(payment.bic, what=what)
    if bic:  # sepaxml emits an (invalid) empty BIC element for an empty string
        result["BIC"] = bic
    return result


@cache
def _schema(version: str) -> etree.XMLSchema:
    xsd = resources.files("sepaxml") / "schemas" / f"{version}.xsd"
    with resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def validate_pain001(data: bytes, *, version: str) -> etree._ElementTree:
    """Parse without network or entities and validate against sepaxml's bundled XSD."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as err:
        raise PaymentFileError(f"{version} file is not well-formed XML: {err}") from err
    schema = _schema(version)
    if not schema.validate(tree):
        first = schema.error_log[0]
        raise PaymentFileError(f"{version} file does not validate against its XSD: line "
                               f"{first.line}: {first.message}")
    return tree


def build_pain001(run: SepaRun, *, version: Pain001Version = "pain.001.001.09") -> bytes:
    """The pain.001 XML for ``run``; see the module docstring for what is guaranteed."""
    if version not in SUPPORTED_VERSIONS:
        raise PaymentFileError(f"unsupported pain.001 version {version!r}; use one of "
                               f"{', '.join(SUPPORTED_VERSIONS)}")
    if not run.payments:
        raise PaymentFileError("a payment run needs at least one payment")
    debtor_iban = _check_iban(run.debtor.iban, what="debtor")
    config = {"name": run.debtor.name, "IBAN": debtor_iban, "batch": True, "currency": "EUR"}
    debtor_bic = _check_bic(run.debtor.bic, what="debtor")
    if debtor_bic:
        config["BIC"] = debtor_bic
    payments = [_payment_dict(p, i) for i, p in enumerate(run.payments)]
    seen: set[str] = set()
    for payment in payments:
        if payment["endtoend_id"] in seen:
            raise PaymentFileError(f"end-to-end id {payment['endtoend_id']!r} is used twice "
                                   f"in one run")
        seen.add(payment["endtoend_id"])

    transfer = SepaTransfer(config, schema=version, clean=True)
    for payment in payments:
        transfer.add_payment(payment)  # mutates the dict (dates become strings): ours is a copy
    # sepaxml's own check rebuilds the schema on every call; ours is cached and says why it fails.
    data = transfer.export(validate=False)

    tree = validate_pain001(data, version=version)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    count = tree.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns)
    control_sum = tree.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=ns)
    expected_sum = sum((p.amount for p in run.payments), Decimal(0))
    if int(count) != len(run.payments) or Decimal(control_sum) != expected_sum:
        raise PaymentFileError(f"{version} header says {count} payments / {control_sum}, the "
                               f"run has {len(run.payments)} / {expected_sum}")
    return data
