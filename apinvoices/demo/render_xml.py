"""Render an ``InvoiceSpec`` as structured e-invoices: UBL 2.1, UN/CEFACT CII D16B, Factur-X.

Both XML syntaxes follow the EN 16931 core (what XRechnung, Peppol BIS and the Factur-X
EN16931 profile share). Amounts are positive for credit notes too; the type code (381)
says it is a credit. A previous balance printed on the PDF is not part of the e-invoice
(EN 16931 has no such term); an amount already paid is the prepaid amount (BT-113).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import facturx
from lxml import etree

from apinvoices.demo.specs import InvoiceSpec, Party
from apinvoices.money import currency_exponent

EN16931 = "urn:cen.eu:en16931:2017"

UBL_NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def _amount(value: Decimal, currency: str) -> str:
    return f"{value:.{currency_exponent(currency)}f}"


def _quantity(value: Decimal) -> str:
    text = f"{Decimal(value).normalize():f}"
    return text


def _percent(value: Decimal) -> str:
    return f"{value:.2f}"


class _Builder:
    """Tiny helper: ``b.sub(parent, "cbc:ID", "text", attr=...)`` with prefixed names."""

    def __init__(self, nsmap: dict[str, str]):
        self.nsmap = nsmap

    def qname(self, name: str) -> str:
        prefix, local = name.split(":")
        return f"{{{self.nsmap[prefix]}}}{local}"

    def sub(self, parent, name: str, text: str | None = None, **attrs) -> etree._Element:
        el = etree.SubElement(parent, self.qname(name))
        if text is not None:
            el.text = text
        for key, value in attrs.items():
            el.set(key, value)
        return el


# --- UBL 2.1 -------------------------------------------------------------------------------


def _ubl_party(b: _Builder, parent, party: Party, role: str):
    wrapper = b.sub(parent, f"cac:{role}")
    p = b.sub(wrapper, "cac:Party")
    if party.email:
        b.sub(p, "cbc:EndpointID", party.email, schemeID="EM")
    b.sub(b.sub(p, "cac:PartyName"), "cbc:Name", party.name)
    address = b.sub(p, "cac:PostalAddress")
    b.sub(address, "cbc:StreetName", party.street)
    b.sub(address, "cbc:CityName", party.city)
    b.sub(address, "cbc:PostalZone", party.postcode)
    if party.state:
        b.sub(address, "cbc:CountrySubentity", party.state)
    b.sub(b.sub(address, "cac:Country"), "cbc:IdentificationCode", party.country)
    if party.vat_id:
        scheme = b.sub(p, "cac:PartyTaxScheme")
        b.sub(scheme, "cbc:CompanyID", party.vat_id)
        b.sub(b.sub(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = b.sub(p, "cac:PartyLegalEntity")
    b.sub(legal, "cbc:RegistrationName", party.name)
    if party.ein:
        b.sub(legal, "cbc:CompanyID", party.ein)
    if party.phone or party.email:
        contact = b.sub(p, "cac:Contact")
        if party.phone:
            b.sub(contact, "cbc:Telephone", party.phone)
        if party.email:
            b.sub(contact, "cbc:ElectronicMail", party.email)


def render_ubl(spec: InvoiceSpec) -> bytes:
    """UBL 2.1 ``Invoice`` (type 380) or ``CreditNote`` (type 381), EN 16931 shaped."""
    credit = spec.is_credit_note
    root_ns = UBL_NS["cn"] if credit else UBL_NS["inv"]
    nsmap = {None: root_ns, "cac": UBL_NS["cac"], "cbc": UBL_NS["cbc"]}
    b = _Builder({"cac": UBL_NS["cac"], "cbc": UBL_NS["cbc"]})
    root = etree.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}", nsmap=nsmap)
    cur = spec.currency

    def money(parent, name, value):
        return b.sub(parent, name, _amount(value, cur), currencyID=cur)

    b.sub(root, "cbc:CustomizationID", EN16931)
    b.sub(root, "cbc:ID", spec.number)
    b.sub(root, "cbc:IssueDate", spec.issue_date.isoformat())
    if spec.due_date and not credit:
        b.sub(root, "cbc:DueDate", spec.due_date.isoformat())
    b.sub(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode",
          "381" if credit else "380")
    for note in spec.notes:
        b.sub(root, "cbc:Note", note)
    b.sub(root, "cbc:DocumentCurrencyCode", cur)
    b.sub(root, "cbc:BuyerReference", spec.customer_number)
    if spec.po_number:
        b.sub(b.sub(root, "cac:OrderReference"), "cbc:ID", spec.po_number)
    if spec.original_invoice_number:
        ref = b.sub(b.sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        b.sub(ref, "cbc:ID", spec.original_invoice_number)
    _ubl_party(b, root, spec.vendor, "AccountingSupplierParty")
    _ubl_party(b, root, spec.buyer, "AccountingCustomerParty")
    if spec.delivery_date:
        b.sub(b.sub(root, "cac:Delivery"), "cbc:ActualDeliveryDate", spec.delivery_date.isoformat())
    means = b.sub(root, "cac:PaymentMeans")
    b.sub(means, "cbc:PaymentMeansCode", "58" if spec.vendor.iban else "30")
    if credit and spec.due_date:
        b.sub(means, "cbc:PaymentDueDate", spec.due_date.isoformat())
    b.sub(means, "cbc:PaymentID", spec.number)
    account = b.sub(means, "cac:PayeeFinancialAccount")
    b.sub(account, "cbc:ID", spec.vendor.iban or spec.vendor.account_number)
    b.sub(account, "cbc:Name", spec.vendor.name)
    if spec.vendor.bic or spec.vendor.routing_number:
        branch = b.sub(account, "cac:FinancialInstitutionBranch")
        b.sub(branch, "cbc:ID", spec.vendor.bic or spec.vendor.routing_number)
    b.sub(b.sub(root, "cac:PaymentTerms"), "cbc:Note", spec.payment_terms)

    tax_total = b.sub(root, "cac:TaxTotal")
    money(tax_total, "cbc:TaxAmount", spec.tax_amount)
    for tax in spec.taxes:
        sub = b.sub(tax_total, "cac:TaxSubtotal")
        money(sub, "cbc:TaxableAmount", tax.base)
        money(sub, "cbc:TaxAmount", tax.amount)
        category = b.sub(sub, "cac:TaxCategory")
        b.sub(category, "cbc:ID", tax.category)
        b.sub(category, "cbc:Percent", _percent(tax.rate))
        if tax.category == "O":
            b.sub(category, "cbc:TaxExemptionReason", "Not subject to VAT")
        b.sub(b.sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")

    totals = b.sub(root, "cac:LegalMonetaryTotal")
    money(totals, "cbc:LineExtensionAmount", spec.net_amount)
    money(totals, "cbc:TaxExclusiveAmount", spec.net_amount)
    money(totals, "cbc:TaxInclusiveAmount", spec.total_amount)
    if spec.amount_paid:
        money(totals, "cbc:PrepaidAmount", spec.amount_paid)
    money(totals, "cbc:PayableAmount", spec.total_amount - spec.amount_paid)

    for line in spec.lines:
        el = b.sub(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        b.sub(el, "cbc:ID", str(line.position))
        b.sub(el, "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
              _quantity(line.quantity), unitCode=line.unit)
        money(el, "cbc:LineExtensionAmount", line.net_amount)
        item = b.sub(el, "cac:Item")
        b.sub(item, "cbc:Name", line.description)
        category = b.sub(item, "cac:ClassifiedTaxCategory")
        b.sub(category, "cbc:ID", next(t.category for t in spec.taxes if t.rate == line.tax_rate))
        b.sub(category, "cbc:Percent", _percent(line.tax_rate))
        b.sub(b.sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")
        money(b.sub(el, "cac:Price"), "cbc:PriceAmount", line.unit_price)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- UN/CEFACT CII D16B (Factur-X / ZUGFeRD 2 EN16931 profile) ------------------------------


def _cii_date(b: _Builder, parent, name: str, value) -> None:
    holder = b.sub(parent, name)
    b.sub(holder, "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _cii_party(b: _Builder, parent, party: Party, role: str):
    p = b.sub(parent, f"ram:{role}")
    b.sub(p, "ram:Name", party.name)
    address = b.sub(p, "ram:PostalTradeAddress")
    b.sub(address, "ram:PostcodeCode", party.postcode)
    b.sub(address, "ram:LineOne", party.street)
    b.sub(address, "ram:CityName", party.city)
    b.sub(address, "ram:CountryID", party.country)
    if party.state:
        b.sub(address, "ram:CountrySubDivisionName", party.state)
    if party.email:
        b.sub(b.sub(p, "ram:URIUniversalCommunication"), "ram:URIID", party.email, schemeID="EM")
    if party.vat_id:
        b.sub(b.sub(p, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID="VA")
    elif party.ein:
        b.sub(b.sub(p, "ram:SpecifiedTaxRegistration"), "ram:ID", party.ein, schemeID="FC")


def render_cii(spec: InvoiceSpec) -> bytes:
    """A CrossIndustryInvoice in the Factur-X EN16931 profile (type 380 or 381)."""
    b = _Builder(CII_NS)
    root = etree.Element(b.qname("rsm:CrossIndustryInvoice"), nsmap=CII_NS)
    cur = spec.currency

    def money(parent, name, value, with_currency=False):
        attrs = {"currencyID": cur} if with_currency else {}
        return b.sub(parent, name, _amount(value, cur), **attrs)

    context = b.sub(root, "rsm:ExchangedDocumentContext")
    b.sub(b.sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931)
    doc = b.sub(root, "rsm:ExchangedDocument")
    b.sub(doc, "ram:ID", spec.number)
    b.sub(doc, "ram:TypeCode", "381" if spec.is_credit_note else "380")
    _cii_date(b, doc, "ram:IssueDateTime", spec.issue_date)
    for note in spec.notes:
        b.sub(b.sub(doc, "ram:IncludedNote"), "ram:Content", note)

    tx = b.sub(root, "rsm:SupplyChainTradeTransaction")
    for line in spec.lines:
        item = b.sub(tx, "ram:IncludedSupplyChainTradeLineItem")
        b.sub(b.sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.position))
        b.sub(b.sub(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
        agreement = b.sub(item, "ram:SpecifiedLineTradeAgreement")
        money(b.sub(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount",
              line.unit_price)
        delivery = b.sub(item, "ram:SpecifiedLineTradeDelivery")
        b.sub(delivery, "ram:BilledQuantity", _quantity(line.quantity), unitCode=line.unit)
        settlement = b.sub(item, "ram:SpecifiedLineTradeSettlement")
        tax = b.sub(settlement, "ram:ApplicableTradeTax")
        b.sub(tax, "ram:TypeCode", "VAT")
        b.sub(tax, "ram:CategoryCode",
              next(t.category for t in spec.taxes if t.rate == line.tax_rate))
        b.sub(tax, "ram:RateApplicablePercent", _percent(line.tax_rate))
        summation = b.sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        money(summation, "ram:LineTotalAmount", line.net_amount)

    agreement = b.sub(tx, "ram:ApplicableHeaderTradeAgreement")
    b.sub(agreement, "ram:BuyerReference", spec.customer_number)
    _cii_party(b, agreement, spec.vendor, "SellerTradeParty")
    _cii_party(b, agreement, spec.buyer, "BuyerTradeParty")
    if spec.po_number:
        b.sub(b.sub(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID",
              spec.po_number)

    delivery = b.sub(tx, "ram:ApplicableHeaderTradeDelivery")
    if spec.delivery_date:
        _cii_date(b, b.sub(delivery, "ram:ActualDeliverySupplyChainEvent"),
                  "ram:OccurrenceDateTime", spec.delivery_date)

    settlement = b.sub(tx, "ram:ApplicableHeaderTradeSettlement")
    b.sub(settlement, "ram:PaymentReference", spec.number)
    b.sub(settlement, "ram:InvoiceCurrencyCode", cur)
    means = b.sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    b.sub(means, "ram:TypeCode", "58" if spec.vendor.iban else "30")
    account = b.sub(means, "ram:PayeePartyCreditorFinancialAccount")
    if spec.vendor.iban:
        b.sub(account, "ram:IBANID", spec.vendor.iban)
    else:
        b.sub(account, "ram:ProprietaryID", spec.vendor.account_number)
    if spec.vendor.bic:
        b.sub(b.sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID",
              spec.vendor.bic)
    for subtotal in spec.taxes:
        tax = b.sub(settlement, "ram:ApplicableTradeTax")
        money(tax, "ram:CalculatedAmount", subtotal.amount)
        b.sub(tax, "ram:TypeCode", "VAT")
        if subtotal.category == "O":
            b.sub(tax, "ram:ExemptionReason", "Not subject to VAT")
        money(tax, "ram:BasisAmount", subtotal.base)
        b.sub(tax, "ram:CategoryCode", subtotal.category)
        b.sub(tax, "ram:RateApplicablePercent", _percent(subtotal.rate))
    terms = b.sub(settlement, "ram:SpecifiedTradePaymentTerms")
    b.sub(terms, "ram:Description", spec.payment_terms)
    if spec.due_date:
        _cii_date(b, terms, "ram:DueDateDateTime", spec.due_date)
    summation = b.sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    money(summation, "ram:LineTotalAmount", spec.net_amount)
    money(summation, "ram:TaxBasisTotalAmount", spec.net_amount)
    money(summation, "ram:TaxTotalAmount", spec.tax_amount, with_currency=True)
    money(summation, "ram:GrandTotalAmount", spec.total_amount)
    if spec.amount_paid:
        money(summation, "ram:TotalPrepaidAmount", spec.amount_paid)
    money(summation, "ram:DuePayableAmount", spec.total_amount - spec.amount_paid)
    if spec.original_invoice_number:
        b.sub(b.sub(settlement, "ram:InvoiceReferencedDocument"), "ram:IssuerAssignedID",
              spec.original_invoice_number)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def render_facturx_pdf(spec: InvoiceSpec, *, pdf_bytes: bytes | None = None) -> bytes:
    """The rendered PDF with the CII embedded as factur-x.xml (EN16931 profile, XSD-checked)."""
    if pdf_bytes is None:
        from apinvoices.demo.render_pdf import render_pdf

        pdf_bytes = render_pdf(spec)
    metadata = {
        "author": spec.vendor.name,
        "keywords": "Factur-X, invoice",
        "title": f"{spec.vendor.name}: {spec.number}",
        "subject": f"{'Credit note' if spec.is_credit_note else 'Invoice'} {spec.number}",
    }
    pdf = facturx.generate_from_binary(
        pdf_bytes,
        render_cii(spec),
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata=metadata,
        lang=spec.language.replace("_", "-"),
        xmp_compression=False,  # keeps the XMP dates visible to _pin_timestamps
    )
    return _pin_timestamps(pdf, spec.issue_date)


_PDF_DATE = re.compile(rb"(D(?::|\\072))(\d{14})")
_XMP_DATE = re.compile(rb"(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)([^<]{25})(</xmp:)")


def _pin_timestamps(pdf: bytes, day: date) -> bytes:
    """Replace factur-x's "now" timestamps with the issue date, so output is reproducible.

    Every replacement has the same length as what it replaces: the cross-reference offsets
    stay valid."""
    stamp = day.strftime("%Y%m%d").encode() + b"090000"
    iso = day.isoformat().encode() + b"T09:00:00+00:00"
    pinned = _PDF_DATE.sub(lambda m: m.group(1) + stamp, pdf)
    pinned = _XMP_DATE.sub(lambda m: m.group(1) + iso + m.group(3), pinned)
    assert len(pinned) == len(pdf)
    return pinned
