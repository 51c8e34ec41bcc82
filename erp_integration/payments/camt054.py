"""Read camt.054 (bank-to-customer debit/credit notification) files to learn what was paid.

Guarantees of ``parse_camt054``:
- the XML is parsed with defusedxml: DTDs, entity expansion and external references are refused;
- any camt.054 version (``urn:iso:std:iso:20022:tech:xsd:camt.054.001.NN``) is accepted; other
  documents raise ``PaymentFileError``;
- one ``Camt054Entry`` per transaction (``TxDtls``), so a batch-booked entry of 300 payments
  yields 300 rows, each with its own end-to-end id and amount (Decimal, never float); an entry
  without details yields one row with an empty end-to-end id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from erp_integration.payments import PaymentFileError

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054."
MAX_FILE_BYTES = 50 * 1024 * 1024  # a day's notification is far smaller; refuse absurd input


@dataclass(frozen=True)
class Camt054Entry:
    end_to_end_id: str  # "NOTPROVIDED" or "" when the bank has none
    amount: Decimal
    currency: str
    booking_date: date | None
    status: str  # BOOK (booked), PDNG (pending), INFO
    credit_debit: str  # DBIT: money left our account (a vendor was paid); CRDT: came in
    value_date: date | None = None
    reversal: bool = False  # True: the bank took this booking back (e.g. payment returned)
    account_servicer_ref: str = ""
    creditor_name: str = ""
    remittance: str = ""
    payment_info_id: str = ""
    account_iban: str = ""


class _Ns:
    """Find helpers bound to the document's own namespace."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def _path(self, path: str) -> str:
        return "/".join(f"{{{self.uri}}}{part}" for part in path.split("/"))

    def find(self, node: Element | None, path: str) -> Element | None:
        return None if node is None else node.find(self._path(path))

    def findall(self, node: Element, path: str) -> list[Element]:
        return node.findall(self._path(path))

    def text(self, node: Element | None, path: str) -> str:
        found = self.find(node, path)
        return (found.text or "").strip() if found is not None else ""


def _date(ns: _Ns, node: Element | None, path: str) -> date | None:
    text = ns.text(node, f"{path}/Dt") or ns.text(node, f"{path}/DtTm")[:10]
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as err:
        raise PaymentFileError(f"camt.054: bad date {text!r} in {path}") from err


def _amount(ns: _Ns, node: Element | None, path: str) -> tuple[Decimal, str] | None:
    found = ns.find(node, path)
    if found is None:
        return None
    try:
        return Decimal((found.text or "").strip()), found.get("Ccy", "")
    except InvalidOperation as err:
        raise PaymentFileError(f"camt.054: amount {found.text!r} is not a number") from err


def parse_camt054(data: bytes) -> list[Camt054Entry]:
    """All transactions in the notification, in document order; see the module docstring."""
    if len(data) > MAX_FILE_BYTES:
        raise PaymentFileError(f"camt.054 file of {len(data)} bytes exceeds {MAX_FILE_BYTES}")
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as err:
        raise PaymentFileError(f"camt.054: not safe, well-formed XML: {err}") from err
    uri = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if not uri.startswith(NAMESPACE_PREFIX):
        raise PaymentFileError(f"not a camt.054 document (namespace {uri or 'none'!r})")
    ns = _Ns(uri)
    body = ns.find(root, "BkToCstmrDbtCdtNtfctn")
    if body is None:
        raise PaymentFileError("camt.054: BkToCstmrDbtCdtNtfctn is missing")

    entries: list[Camt054Entry] = []
    for notification in ns.findall(body, "Ntfctn"):
        iban = ns.text(notification, "Acct/Id/IBAN")
        for entry in ns.findall(notification, "Ntry"):
            entry_amount = _amount(ns, entry, "Amt")
            if entry_amount is None:
                raise PaymentFileError("camt.054: an entry has no Amt")
            # camt.054.001.02 has <Sts>BOOK</Sts>; from .001.06 on it is <Sts><Cd>BOOK</Cd></Sts>.
            status = ns.text(entry, "Sts/Cd") or ns.text(entry, "Sts")
            common = {
                "booking_date": _date(ns, entry, "BookgDt"),
                "value_date": _date(ns, entry, "ValDt"),
                "status": status,
                "credit_debit": ns.text(entry, "CdtDbtInd"),
                "reversal": ns.text(entry, "RvslInd").lower() == "true",
                "account_servicer_ref": ns.text(entry, "AcctSvcrRef"),
                "account_iban": iban,
            }
            details = [tx for group in ns.findall(entry, "NtryDtls")
                       for tx in ns.findall(group, "TxDtls")]
            if not details:
                entries.append(Camt054Entry(end_to_end_id="", amount=entry_amount[0],
                                            currency=entry_amount[1], **common))
                continue
            for tx in details:
                amount = (_amount(ns, tx, "Amt")
                          or _amount(ns, tx, "AmtDtls/TxAmt/Amt")
                          or (entry_amount if len(details) == 1 else None))
                if amount is None:
                    raise PaymentFileError("camt.054: a transaction of a batch entry has no "
                                           "amount of its own")
                remittance = " ".join(
                    (u.text or "").strip() for u in ns.findall(tx, "RmtInf/Ustrd"))
                creditor = (ns.text(tx, "RltdPties/Cdtr/Nm")
                            or ns.text(tx, "RltdPties/Cdtr/Pty/Nm"))
                tx_indicator = ns.text(tx, "CdtDbtInd")
                entries.append(Camt054Entry(
                    end_to_end_id=ns.text(tx, "Refs/EndToEndId"),
                    amount=amount[0], currency=amount[1],
                    creditor_name=creditor, remittance=remittance,
                    payment_info_id=ns.text(tx, "Refs/PmtInfId"),
                    **{**common, "credit_debit": tx_indicator or common["credit_debit"]},
                ))
    return entries


def payment_outcomes(entries: list[Camt054Entry]) -> dict[str, str]:
    """What the bank says happened to each of our transfers, by end-to-end id.

    ``"paid"``: a booked debit; ``"pending"``: a debit not yet booked; ``"returned"``: a booked
    reversal or a booked credit carrying our end-to-end id (the money came back). A return wins
    over an earlier "paid" for the same id, whatever the order of the entries in the file.
    Entries without an end-to-end id (fees, NOTPROVIDED) are left out.
    """
    outcomes: dict[str, str] = {}
    for entry in entries:
        e2e = entry.end_to_end_id
        if not e2e or e2e == "NOTPROVIDED":
            continue
        booked = entry.status == "BOOK"
        if booked and (entry.reversal or entry.credit_debit == "CRDT"):
            outcomes[e2e] = "returned"
        elif outcomes.get(e2e) == "returned":
            continue
        elif booked and entry.credit_debit == "DBIT":
            outcomes[e2e] = "paid"
        elif entry.credit_debit == "DBIT" and e2e not in outcomes:
            outcomes[e2e] = "pending"
    return outcomes
