"""QuickBooks Online (Accounting API v3) backend: supplier invoices become Bills.

Exactly once, in two layers:
1. ``find_invoice`` looks for a Bill with the invoice's DocNumber from the same vendor whose
   PrivateNote carries our idempotency marker; a Bill with that number and vendor but *without*
   our marker is reported as CONFLICT (someone keyed it by hand) instead of being duplicated.
2. The create call carries ``requestid`` derived from our idempotency key, so a retry that QBO
   already processed returns the original Bill instead of a second one, even when the invoice
   has no number to search by.

Tax is booked as one extra expense line (``QBO_TAX_ACCOUNT_ID``, default the expense account)
with ``GlobalTaxCalculation=NotApplicable``, so the Bill total equals our gross amount; QBO tax
codes are not mapped. Credit notes (QBO VendorCredit) are not supported yet and are refused as
VALIDATION before anything is sent.

Settings (read when the backend is created; constructor arguments win): QBO_BASE_URL,
QBO_REALM_ID, QBO_ACCESS_TOKEN, QBO_EXPENSE_ACCOUNT_ID, QBO_TAX_ACCOUNT_ID, QBO_MINOR_VERSION,
QBO_TIMEOUT_SECONDS. The OAuth2 token refresh is outside this class: it uses the token it is given.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from typing import Any

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

DEFAULT_BASE_URL = "https://quickbooks.api.intuit.com"
# Minor versions below 75 were retired by Intuit in 2025; 75 is the floor they accept.
DEFAULT_MINOR_VERSION = "75"
MAX_REQUEST_ID = 50  # Intuit: requestid is unique per company and at most 50 characters
QUERY_PAGE_SIZE = 1000  # Intuit's maximum MAXRESULTS
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]+$")


def request_id_for(key: str, purpose: str = "bill") -> str:
    """Deterministic requestid for our key: readable when it fits, else a hash (both ≤ 50)."""
    candidate = f"{purpose}-{key}"
    if len(candidate) <= MAX_REQUEST_ID and _SAFE_REQUEST_ID.match(candidate):
        return candidate
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{purpose}-{digest[: MAX_REQUEST_ID - 1 - len(purpose)]}"


def marker_for(key: str) -> str:
    return f"[ap:{key}]"


def quote_query_value(value: str) -> str:
    """A string literal for the QBO query language (backslash escapes quotes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fault_message(payload: Any) -> str:
    errors = ((payload or {}).get("Fault") or {}).get("Error") or [] if isinstance(payload, dict) \
        else []
    parts = []
    for error in errors:
        text = error.get("Message", "")
        if error.get("Detail"):
            text = f"{text}: {error['Detail']}" if text else error["Detail"]
        if error.get("code"):
            text += f" (code {error['code']})"
        parts.append(text)
    return "; ".join(parts)


class QuickBooksBackend(ErpBackend):
    name = "quickbooks"

    def __init__(self, *, base_url: str | None = None, realm_id: str | None = None,
                 access_token: str | None = None, expense_account_id: str | None = None,
                 tax_account_id: str | None = None, minor_version: str | None = None,
                 timeout: float | None = None, page_size: int = QUERY_PAGE_SIZE) -> None:
        def pick(given: Any, setting: str, default: Any = "") -> Any:
            return given if given is not None else getattr(settings, setting, default) or default

        self.base_url = str(pick(base_url, "QBO_BASE_URL", DEFAULT_BASE_URL)).rstrip("/")
        self.realm_id = str(pick(realm_id, "QBO_REALM_ID"))
        self.access_token = str(pick(access_token, "QBO_ACCESS_TOKEN"))
        self.expense_account_id = str(pick(expense_account_id, "QBO_EXPENSE_ACCOUNT_ID"))
        self.tax_account_id = str(pick(tax_account_id, "QBO_TAX_ACCOUNT_ID",
                                       self.expense_account_id))
        self.minor_version = str(pick(minor_version, "QBO_MINOR_VERSION", DEFAULT_MINOR_VERSION))
        self.page_size = page_size
        self._client = RestClient(erp="QuickBooks Online",
                                  timeout=float(pick(timeout, "QBO_TIMEOUT_SECONDS", 30)),
                                  error_message=_fault_message)

    # --- wire ----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, params: dict[str, str] | None = None,
              body: Any = None) -> dict[str, Any]:
        missing = [name for name, value in (("QBO_REALM_ID", self.realm_id),
                                            ("QBO_ACCESS_TOKEN", self.access_token))
                   if not value]
        if missing:
            raise ErpError(ErpErrorCode.NOT_CONFIGURED,
                           f"QuickBooks Online is not configured: set {', '.join(missing)}")
        url = f"{self.base_url}/v3/company/{self.realm_id}/{path}"
        payload = self._client.request(
            method, url, params={**(params or {}), "minorversion": self.minor_version},
            headers={"Authorization": f"Bearer {self.access_token}"}, body=body)
        if isinstance(payload, dict) and "Fault" in payload:
            # QBO reports some business errors with HTTP 200 and a Fault body.
            raise ErpError(ErpErrorCode.VALIDATION,
                           f"QuickBooks Online: {_fault_message(payload)}")
        return payload

    def _query(self, statement: str) -> list[dict[str, Any]]:
        """All rows of a ``select * from Entity …`` statement, following pages."""
        entity = statement.split()[3]
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            page = self._call("GET", "query", params={
                "query": f"{statement} STARTPOSITION {start} MAXRESULTS {self.page_size}"})
            batch = (page.get("QueryResponse") or {}).get(entity) or []
            rows.extend(batch)
            if len(batch) < self.page_size:
                return rows
            start += len(batch)

    # --- vendors -------------------------------------------------------------------------------
    def _find_vendor_id(self, vendor: ErpVendor) -> str | None:
        if vendor.erp_id:
            return vendor.erp_id
        name = quote_query_value(vendor.name)
        rows = self._query(f"select * from Vendor where DisplayName = {name}")
        return rows[0]["Id"] if rows else None

    def _ensure_vendor_id(self, vendor: ErpVendor, key: str) -> str:
        found = self._find_vendor_id(vendor)
        if found:
            return found
        body: dict[str, Any] = {"DisplayName": vendor.name[:500], "CompanyName": vendor.name[:100]}
        if vendor.email:
            body["PrimaryEmailAddr"] = {"Address": vendor.email}
        if vendor.country:
            body["BillAddr"] = {"Country": vendor.country}
        created = self._call("POST", "vendor", params={"requestid": request_id_for(key, "v")},
                             body=body)
        return created["Vendor"]["Id"]

    def sync_vendors(self) -> list[ErpVendor]:
        """All active QBO vendors. Tax ids come back masked by QBO (last four characters)."""
        return [
            ErpVendor(
                name=row.get("DisplayName", ""),
                tax_id=row.get("TaxIdentifier", ""),
                email=(row.get("PrimaryEmailAddr") or {}).get("Address", ""),
                country=(row.get("BillAddr") or {}).get("Country", ""),
                erp_id=row["Id"],
            )
            for row in self._query("select * from Vendor where Active = true")
        ]

    # --- bills ---------------------------------------------------------------------------------
    def find_invoice(self, payload: ErpInvoice) -> ErpPostResult | None:
        """The Bill created for this key, found by DocNumber + vendor + our PrivateNote marker.

        Returns None when the invoice has no number (then only ``requestid`` protects the create)
        or the vendor does not exist yet. Raises CONFLICT when the vendor already has a Bill with
        this number that we did not create, or several carry our marker.
        """
        if not payload.invoice_number:
            return None
        vendor_id = self._find_vendor_id(payload.vendor)
        if vendor_id is None:
            return None
        bills = [
            bill for bill in self._query(
                f"select * from Bill where DocNumber = {quote_query_value(payload.invoice_number)}")
            if (bill.get("VendorRef") or {}).get("value") == vendor_id
        ]
        ours = [b for b in bills if marker_for(payload.idempotency_key) in b.get("PrivateNote", "")]
        if len(ours) > 1:
            raise ErpError(ErpErrorCode.CONFLICT,
                           f"QuickBooks Online: {len(ours)} Bills carry posting key "
                           f"{payload.idempotency_key} (Ids {', '.join(b['Id'] for b in ours)})")
        if ours:
            return ErpPostResult(erp_id=ours[0]["Id"], erp_number=ours[0].get("DocNumber", ""),
                                 already_existed=True)
        if bills:
            raise ErpError(ErpErrorCode.CONFLICT,
                           f"QuickBooks Online: vendor already has Bill {bills[0]['Id']} with "
                           f"number {payload.invoice_number} that this workbench did not post")
        return None

    def _bill_body(self, payload: ErpInvoice, vendor_id: str) -> dict[str, Any]:
        def expense_line(amount: Decimal, description: str, account: str) -> dict[str, Any]:
            return {"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount,
                    "Description": description[:4000],
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}}}

        if not self.expense_account_id:
            raise ErpError(ErpErrorCode.NOT_CONFIGURED,
                           "QuickBooks Online is not configured: set QBO_EXPENSE_ACCOUNT_ID")
        lines = [expense_line(line.amount, line.description,
                              line.account_code or self.expense_account_id)
                 for line in payload.lines]
        if not lines:
            lines = [expense_line(payload.net_amount,
                                  payload.description or f"Invoice {payload.invoice_number}",
                                  self.expense_account_id)]
        if payload.tax_amount:
            lines.append(expense_line(payload.tax_amount, "Tax", self.tax_account_id))
        booked = sum((line["Amount"] for line in lines), Decimal(0))
        if booked != payload.total_amount:
            raise ErpError(ErpErrorCode.VALIDATION,
                           f"lines and tax add up to {booked}, not the invoice total "
                           f"{payload.total_amount}")
        po_note = f"PO {payload.po_number}" if payload.po_number else ""
        note = " ".join(p for p in (payload.description, po_note,
                                    marker_for(payload.idempotency_key)) if p)
        body: dict[str, Any] = {
            "VendorRef": {"value": vendor_id},
            "TxnDate": payload.issue_date,
            "CurrencyRef": {"value": payload.currency},
            "GlobalTaxCalculation": "NotApplicable",
            "PrivateNote": note[-4000:],
            "Line": lines,
        }
        if payload.invoice_number:
            body["DocNumber"] = payload.invoice_number[:21]  # QBO DocNumber limit
        if payload.due_date:
            body["DueDate"] = payload.due_date
        return body

    def post_invoice(self, payload: ErpInvoice) -> ErpPostResult:
        """Create the Bill once; see the module docstring for the two idempotency layers."""
        if payload.is_credit_note:
            raise ErpError(ErpErrorCode.VALIDATION,
                           "QuickBooks Online: credit notes (VendorCredit) are not supported yet")
        if len(payload.invoice_number) > 21:
            raise ErpError(ErpErrorCode.VALIDATION,
                           f"QuickBooks Online: DocNumber is limited to 21 characters "
                           f"({payload.invoice_number!r})")
        existing = self.find_invoice(payload)
        if existing is not None:
            return existing
        vendor_id = self._ensure_vendor_id(payload.vendor, payload.idempotency_key)
        created = self._call("POST", "bill",
                             params={"requestid": request_id_for(payload.idempotency_key)},
                             body=self._bill_body(payload, vendor_id))
        bill = created["Bill"]
        return ErpPostResult(erp_id=bill["Id"], erp_number=bill.get("DocNumber", ""))

    def payment_status(self, erp_id: str) -> PaymentStatus:
        """PAID when the Bill's Balance is zero, PARTIALLY_PAID when below its total."""
        bill = self._call("GET", f"bill/{erp_id}")["Bill"]
        balance, total = to_decimal(bill.get("Balance")), to_decimal(bill.get("TotalAmt"))
        if balance <= 0:
            return PaymentStatus.PAID
        if balance < total:
            return PaymentStatus.PARTIALLY_PAID
        return PaymentStatus.OPEN

    # --- purchase orders -----------------------------------------------------------------------
    def sync_purchase_orders(self) -> list[ErpPurchaseOrder]:
        """Open QBO purchase orders. QBO has no goods receipts, so received quantities are 0."""
        orders = []
        for row in self._query("select * from PurchaseOrder where POStatus = 'Open'"):
            lines = []
            for index, line in enumerate(row.get("Line") or [], start=1):
                item = line.get("ItemBasedExpenseLineDetail")
                if item is not None:
                    quantity, price = to_decimal(item.get("Qty")), to_decimal(item.get("UnitPrice"))
                else:
                    quantity, price = Decimal(1), to_decimal(line.get("Amount"))
                lines.append(ErpPurchaseOrderLine(
                    line_no=int(line.get("LineNum") or index),
                    description=line.get("Description", ""), quantity=quantity, unit_price=price))
            txn_date = row.get("TxnDate")
            orders.append(ErpPurchaseOrder(
                number=row.get("DocNumber", ""),
                vendor_erp_id=(row.get("VendorRef") or {}).get("value", ""),
                currency=(row.get("CurrencyRef") or {}).get("value", ""),
                order_date=date.fromisoformat(txn_date) if txn_date else None,
                lines=tuple(lines), erp_id=row["Id"]))
        return orders
