"""Xero (Accounting API 2.0) backend: supplier invoices become ACCPAY invoices, AUTHORISED.

Exactly once, in two layers:
1. ``find_invoice`` filters ``Invoices`` with ``where`` on Type, Contact.ContactID and
   InvoiceNumber and recognises ours by the posting key in ``Url``. Xero stores ``Reference`` only
   on sales (ACCREC) invoices, so it cannot carry our key on a bill; ``Url`` ("link to a source
   document") exists on both. A live bill with that number and contact that is not ours is a
   CONFLICT, not something to duplicate or to claim.
2. Every create carries ``Idempotency-Key`` = our key, so a retry Xero already processed returns
   the original response, even when the invoice has no number to search by.

Lines are sent tax-exclusive with an explicit TaxAmount each (allocated from the invoice's tax by
line rate, the rounding remainder on the last line), so Xero's total equals our gross amount.
Credit notes (ACCPAYCREDIT) are not supported yet and are refused before anything is sent.

Settings (read when the backend is created; constructor arguments win): XERO_BASE_URL,
XERO_TENANT_ID, XERO_ACCESS_TOKEN, XERO_ACCOUNT_CODE, XERO_TIMEOUT_SECONDS, AP_BASE_URL.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from django.conf import settings

from erp_integration.backends.base import (
    ErpBackend,
    ErpError,
    ErpErrorCode,
    ErpInvoice,
    ErpPostResult,
    ErpPurchaseOrder,
    ErpPurchaseOrderLine,
    ErpVendor,
    PaymentStatus,
)
from erp_integration.backends.rest import RestClient, to_decimal

DEFAULT_BASE_URL = "https://api.xero.com/api.xro/2.0"
MAX_IDEMPOTENCY_KEY = 128  # Xero's documented limit for the Idempotency-Key header
PAGE_SIZE = 100  # rows Xero returns per ``page``
_DEAD_STATUSES = {"DELETED", "VOIDED"}
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
CENT = Decimal("0.01")


def quote_where_value(value: str) -> str:
    """A string literal for Xero's ``where`` filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error_message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    messages = [error.get("Message", "")
                for element in payload.get("Elements") or []
                for error in element.get("ValidationErrors") or []]
    if messages:
        return "; ".join(m for m in messages if m)
    parts = [payload.get(k) for k in ("Message", "Title", "Detail") if payload.get(k)]
    return ": ".join(str(p) for p in parts)


def _date_of(row: dict[str, Any], field: str) -> date | None:
    text = row.get(f"{field}String") or ""
    return date.fromisoformat(text[:10]) if text else None


def allocate_tax(amounts: list[Decimal], rates: list[Decimal | None], total_tax: Decimal
                 ) -> list[Decimal]:
    """Split ``total_tax`` over lines: by each line's rate where given, else in proportion to
    the amounts; the rounding remainder goes to the last line so the parts sum exactly."""
    if not amounts:
        return []
    if all(rate is not None for rate in rates):
        parts = [(a * r / 100).quantize(CENT, ROUND_HALF_UP)
                 for a, r in zip(amounts, rates, strict=True)]
    else:
        base = sum(amounts, Decimal(0))
        parts = [((a / base) * total_tax).quantize(CENT, ROUND_HALF_UP) if base else Decimal(0)
                 for a in amounts]
    parts[-1] += total_tax - sum(parts, Decimal(0))
    return parts


class XeroBackend(ErpBackend):
    name = "xero"

    def __init__(self, *, base_url: str | None = None, tenant_id: str | None = None,
                 access_token: str | None = None, account_code: str | None = None,
                 source_base_url: str | None = None, timeout: float | None = None) -> None:
        def pick(given: Any, setting: str, default: Any = "") -> Any:
            return given if given is not None else getattr(settings, setting, default) or default

        self.base_url = str(pick(base_url, "XERO_BASE_URL", DEFAULT_BASE_URL)).rstrip("/")
        self.tenant_id = str(pick(tenant_id, "XERO_TENANT_ID"))
        self.access_token = str(pick(access_token, "XERO_ACCESS_TOKEN"))
        self.account_code = str(pick(account_code, "XERO_ACCOUNT_CODE"))
        self.source_base_url = str(pick(source_base_url, "AP_BASE_URL",
                                        "http://127.0.0.1:8000")).rstrip("/")
        self._client = RestClient(erp="Xero",
                                  timeout=float(pick(timeout, "XERO_TIMEOUT_SECONDS", 30)),
                                  error_message=_error_message)

    # --- wire ----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, params: dict[str, str] | None = None,
              body: Any = None, idempotency_key: str = "") -> dict[str, Any]:
        missing = [name for name, value in (("XERO_TENANT_ID", self.tenant_id),
                                            ("XERO_ACCESS_TOKEN", self.access_token)) if not value]
        if missing:
            raise ErpError(ErpErrorCode.NOT_CONFIGURED,
                           f"Xero is not configured: set {', '.join(missing)}")
        headers = {"Authorization": f"Bearer {self.access_token}",
                   "xero-tenant-id": self.tenant_id}
        if idempotency_key:
            if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
                raise ErpError(ErpErrorCode.VALIDATION,
                               f"Xero: idempotency key longer than {MAX_IDEMPOTENCY_KEY} chars")
            headers["Idempotency-Key"] = idempotency_key
        return self._client.request(method, f"{self.base_url}/{path}", params=params,
                                    headers=headers, body=body)

    def _paged(self, collection: str, params: dict[str, str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self._call("GET", collection,
                               params={**params, "page": str(page)}).get(collection) or []
            rows.extend(batch)
            if len(batch) < PAGE_SIZE:
                return rows
            page += 1

    def source_url(self, key: str) -> str:
        """The ``Url`` we store on a bill: it links back here and carries the posting key."""
        return f"{self.source_base_url}/erp/postings/key/{quote(key, safe='')}"

    # --- contacts ------------------------------------------------------------------------------
    def _find_contact_id(self, vendor: ErpVendor) -> str | None:
        if vendor.erp_id:
            return vendor.erp_id
        rows = self._call("GET", "Contacts",
                          params={"where": f"Name=={quote_where_value(vendor.name)}"}
                          ).get("Contacts") or []
        live = [row for row in rows if row.get("ContactStatus") != "ARCHIVED"] or rows
        return live[0]["ContactID"] if live else None

    def _ensure_contact_id(self, vendor: ErpVendor, key: str) -> str:
        found = self._find_contact_id(vendor)
        if found:
            return found
        contact: dict[str, Any] = {"Name": vendor.name[:255]}
        if vendor.email:
            contact["EmailAddress"] = vendor.email
        if vendor.tax_id:
            contact["TaxNumber"] = vendor.tax_id
        if vendor.iban:
            contact["BankAccountDetails"] = vendor.iban
        created = self._call("PUT", "Contacts", body={"Contacts": [contact]},
                             idempotency_key=f"{key}-contact")
        return created["Contacts"][0]["ContactID"]

    def sync_vendors(self) -> list[ErpVendor]:
        """Active Xero contacts flagged as suppliers."""
        vendors = []
        for row in self._paged("Contacts",
                               {"where": 'IsSupplier==true AND ContactStatus=="ACTIVE"'}):
            account = (row.get("BankAccountDetails") or "").replace(" ", "").upper()
            addresses = row.get("Addresses") or [{}]
            vendors.append(ErpVendor(
                name=row.get("Name", ""), tax_id=row.get("TaxNumber") or "",
                iban=account if _IBAN.match(account) else "",
                country=(addresses[0] or {}).get("Country", "") if addresses else "",
                email=row.get("EmailAddress") or "", erp_id=row["ContactID"]))
        return vendors

    # --- invoices ------------------------------------------------------------------------------
    def find_invoice(self, payload: ErpInvoice) -> ErpPostResult | None:
        """The bill created for this key: Type + Contact + InvoiceNumber, ours by ``Url``.

        Returns None when the invoice has no number (then only the Idempotency-Key protects the
        create) or the contact does not exist yet. Raises CONFLICT when the contact already has a
        live bill with this number that we did not create, or several carry our key.
        """
        if not payload.invoice_number:
            return None
        contact_id = self._find_contact_id(payload.vendor)
        if contact_id is None:
            return None
        where = (f'Type=="ACCPAY" AND Contact.ContactID==guid("{contact_id}") '
                 f"AND InvoiceNumber=={quote_where_value(payload.invoice_number)}")
        rows = [row for row in self._call("GET", "Invoices", params={"where": where}
                                          ).get("Invoices") or []
                if row.get("Status") not in _DEAD_STATUSES]
        url = self.source_url(payload.idempotency_key)
        ours = [row for row in rows if row.get("Url") == url]
        if len(ours) > 1:
            raise ErpError(ErpErrorCode.CONFLICT,
                           f"Xero: {len(ours)} bills carry posting key {payload.idempotency_key}")
        if ours:
            return ErpPostResult(erp_id=ours[0]["InvoiceID"],
                                 erp_number=ours[0].get("InvoiceNumber", ""),
                                 already_existed=True)
        if rows:
            raise ErpError(ErpErrorCode.CONFLICT,
                           f"Xero: contact already has bill {rows[0]['InvoiceID']} with number "
                           f"{payload.invoice_number} that this workbench did not post")
        return None

    def _invoice_body(self, payload: ErpInvoice, contact_id: str) -> dict[str, Any]:
        if not self.account_code and not all(line.account_code for line in payload.lines):
            raise ErpError(ErpErrorCode.NOT_CONFIGURED,
                           "Xero is not configured: set XERO_ACCOUNT_CODE")
        if payload.net_amount + payload.tax_amount != payload.total_amount:
            raise ErpError(ErpErrorCode.VALIDATION,
                           f"net {payload.net_amount} + tax {payload.tax_amount} is not the "
                           f"total {payload.total_amount}")
        lines = list(payload.lines)
        if lines and sum((ln.amount for ln in lines), Decimal(0)) != payload.net_amount:
            raise ErpError(ErpErrorCode.VALIDATION,
                           f"line amounts do not add up to the net amount {payload.net_amount}")
        if lines:
            taxes = allocate_tax([ln.amount for ln in lines], [ln.tax_rate for ln in lines],
                                 payload.tax_amount)
            items = [{"Description": ln.description[:4000], "Quantity": ln.quantity,
                      "UnitAmount": ln.unit_price, "LineAmount": ln.amount, "TaxAmount": tax,
                      "AccountCode": ln.account_code or self.account_code}
                     for ln, tax in zip(lines, taxes, strict=True)]
        else:
            items = [{"Description": payload.description or f"Invoice {payload.invoice_number}",
                      "Quantity": Decimal(1), "UnitAmount": payload.net_amount,
                      "LineAmount": payload.net_amount, "TaxAmount": payload.tax_amount,
                      "AccountCode": self.account_code}]
        invoice: dict[str, Any] = {
            "Type": "ACCPAY",
            "Contact": {"ContactID": contact_id},
            "Date": payload.issue_date,
            # AUTHORISED bills need a due date; without one the bill is due on its issue date.
            "DueDate": payload.due_date or payload.issue_date,
            "CurrencyCode": payload.currency,
            "LineAmountTypes": "Exclusive",
            "Status": "AUTHORISED",
            "Url": self.source_url(payload.idempotency_key),
            "LineItems": items,
        }
        if payload.invoice_number:
            invoice["InvoiceNumber"] = payload.invoice_number[:255]
        return {"Invoices": [invoice]}

    def post_invoice(self, payload: ErpInvoice) -> ErpPostResult:
        """Create the AUTHORISED bill once; see the module docstring for the two layers."""
        if payload.is_credit_note:
            raise ErpError(ErpErrorCode.VALIDATION,
                           "Xero: credit notes (ACCPAYCREDIT) are not supported yet")
        existing = self.find_invoice(payload)
        if existing is not None:
            return existing
        contact_id = self._ensure_contact_id(payload.vendor, payload.idempotency_key)
        created = self._call("PUT", "Invoices", body=self._invoice_body(payload, contact_id),
                             idempotency_key=payload.idempotency_key)
        invoice = created["Invoices"][0]
        return ErpPostResult(erp_id=invoice["InvoiceID"],
                             erp_number=invoice.get("InvoiceNumber", ""))

    def payment_status(self, erp_id: str) -> PaymentStatus:
        """PAID when AmountDue is zero, PARTIALLY_PAID when something was paid, else OPEN."""
        rows = self._call("GET", f"Invoices/{quote(erp_id, safe='')}").get("Invoices") or []
        if not rows or rows[0].get("Status") in _DEAD_STATUSES:
            return PaymentStatus.UNKNOWN
        row = rows[0]
        if to_decimal(row.get("AmountDue")) <= 0:
            return PaymentStatus.PAID
        if to_decimal(row.get("AmountPaid")) > 0:
            return PaymentStatus.PARTIALLY_PAID
        return PaymentStatus.OPEN

    # --- purchase orders -----------------------------------------------------------------------
    def sync_purchase_orders(self) -> list[ErpPurchaseOrder]:
        """AUTHORISED (open) Xero purchase orders; Xero records no receipts, so received is 0."""
        return [
            ErpPurchaseOrder(
                number=row.get("PurchaseOrderNumber", ""),
                vendor_erp_id=(row.get("Contact") or {}).get("ContactID", ""),
                currency=row.get("CurrencyCode", ""),
                order_date=_date_of(row, "Date"),
                lines=tuple(
                    ErpPurchaseOrderLine(line_no=i, description=item.get("Description", ""),
                                         quantity=to_decimal(item.get("Quantity")),
                                         unit_price=to_decimal(item.get("UnitAmount")))
                    for i, item in enumerate(row.get("LineItems") or [], start=1)),
                erp_id=row["PurchaseOrderID"])
            for row in self._paged("PurchaseOrders", {"status": "AUTHORISED"})
        ]
