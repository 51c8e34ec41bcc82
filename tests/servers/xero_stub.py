"""Xero Accounting API (api.xro/2.0) stand-in (the subset our client uses), on 127.0.0.1.

Wire shapes follow Xero's documentation: collections wrapped in their plural name
(``{"Invoices": [...]}``), a ``where`` filter language (``Field=="x" AND Contact.ContactID==
guid("…")``), ``page`` paging (100 rows), OAuth2 bearer token plus the ``xero-tenant-id`` header,
400 ``ValidationException`` bodies with ``Elements[].ValidationErrors[].Message``, 429 with
``Retry-After``, and the ``Idempotency-Key`` header (≤ 128 characters; a replay returns the first
response). As in real Xero, ``Reference`` is kept for ACCREC only and dropped on ACCPAY, while
``Url`` is kept on both.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.servers.http_stub import StubRequest, StubResponse, StubServer

PAGE_SIZE = 100
MAX_IDEMPOTENCY_KEY = 128
_CLAUSE = re.compile(
    r'\s*(?P<field>[\w.]+)\s*(?P<op>==|!=)\s*'
    r'(?:guid\("(?P<guid>[0-9a-fA-F-]+)"\)|"(?P<quoted>(?:\\.|[^"\\])*)"|(?P<bare>true|false))\s*'
)


def _ms_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    millis = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return f"/Date({millis}+0000)/"


def validation_exception(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    return {
        "ErrorNumber": 10, "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{**element, "ValidationErrors": [{"Message": m} for m in messages]}],
    }


class XeroStub(StubServer):
    """In-memory Xero organisation. Seed with ``add_contact`` / ``add_purchase_order``; inspect
    ``invoices``; ``pay_invoice`` records a payment as the Xero user would."""

    def __init__(self, *, tenant_id: str | None = None, access_token: str = "xero-token",
                 account_codes: tuple[str, ...] = ("300", "429", "820")) -> None:
        super().__init__()
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.access_token = access_token
        self.account_codes = set(account_codes)
        self.contacts: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.purchase_orders: dict[str, dict[str, Any]] = {}
        self._replies: dict[str, StubResponse] = {}

    # --- seeding and inspection ----------------------------------------------------------------
    def add_contact(self, name: str, *, supplier: bool = True, email: str = "",
                    tax_number: str = "", bank_account: str = "",
                    status: str = "ACTIVE") -> str:
        with self._lock:
            contact_id = str(uuid.uuid4())
            self.contacts[contact_id] = {
                "ContactID": contact_id, "Name": name, "ContactStatus": status,
                "EmailAddress": email, "TaxNumber": tax_number,
                "BankAccountDetails": bank_account, "IsSupplier": supplier,
                "IsCustomer": False, "Addresses": [], "Phones": [],
            }
            return contact_id

    def add_purchase_order(self, *, contact_id: str, number: str, lines: list[dict[str, Any]],
                           status: str = "AUTHORISED", currency: str = "NZD",
                           order_date: str = "2026-02-01") -> str:
        with self._lock:
            po_id = str(uuid.uuid4())
            items = [{"LineItemID": str(uuid.uuid4()), "Description": ln.get("description", ""),
                      "Quantity": Decimal(str(ln["qty"])),
                      "UnitAmount": Decimal(str(ln["unit_price"])), "AccountCode": "300"}
                     for ln in lines]
            self.purchase_orders[po_id] = {
                "PurchaseOrderID": po_id, "PurchaseOrderNumber": number, "Status": status,
                "Contact": {"ContactID": contact_id, "Name": self.contacts[contact_id]["Name"]},
                "CurrencyCode": currency, "Date": _ms_date(order_date),
                "DateString": f"{order_date}T00:00:00", "LineItems": items,
            }
            return po_id

    def pay_invoice(self, invoice_id: str, amount: Decimal) -> None:
        with self._lock:
            invoice = self.invoices[invoice_id]
            invoice["AmountPaid"] += amount
            invoice["AmountDue"] = invoice["Total"] - invoice["AmountPaid"]
            if invoice["AmountDue"] <= 0:
                invoice["Status"] = "PAID"

    # --- fault shapes --------------------------------------------------------------------------
    def auth_fault(self) -> dict[str, Any]:
        return {"Type": None, "Title": "Unauthorized", "Status": 401,
                "Detail": "AuthenticationUnsuccessful", "Instance": str(uuid.uuid4()),
                "Extensions": {}}

    def error_body(self, status: int) -> Any:
        if status >= 500:
            return {"Title": "An error occurred", "Status": status,
                    "Detail": "An error occurred in Xero. Check the API Status page "
                              "http://status.developer.xero.com for current service status."}
        return None

    # --- routing -------------------------------------------------------------------------------
    def route(self, request: StubRequest) -> StubResponse:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return StubResponse(401, self.auth_fault())
        if request.headers.get("xero-tenant-id") != self.tenant_id:
            return StubResponse(403, {"Type": None, "Title": "Forbidden", "Status": 403,
                                      "Detail": "AuthenticationUnsuccessful",
                                      "Instance": str(uuid.uuid4()), "Extensions": {}})
        prefix = "/api.xro/2.0/"
        if not request.path.startswith(prefix):
            return StubResponse(404, {"Title": "Not Found", "Status": 404,
                                      "Detail": "The resource you're looking for cannot be found"})
        parts = request.path[len(prefix):].strip("/").split("/")
        collection, item = parts[0], parts[1] if len(parts) > 1 else None
        if request.method in ("PUT", "POST") and item is None:
            key = request.headers.get("idempotency-key", "")
            if len(key) > MAX_IDEMPOTENCY_KEY:
                return StubResponse(400, validation_exception(
                    {}, [f"Idempotency-Key must be {MAX_IDEMPOTENCY_KEY} characters or less"]))
            replay_key = f"{request.method} {collection} {key}"
            if key and replay_key in self._replies:
                return self._replies[replay_key]
            response = self._create(collection, request.body or {})
            if key:
                self._replies[replay_key] = response
            return response
        if request.method == "GET":
            return self._get(collection, item, request.query)
        return StubResponse(405, {"Title": "Method Not Allowed", "Status": 405})

    def _envelope(self, collection: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "AP Workbench tests",
                "DateTimeUTC": f"/Date({int(datetime.now(UTC).timestamp() * 1000)})/",
                collection: rows}

    def _store(self, collection: str) -> dict[str, dict[str, Any]] | None:
        return {"Invoices": self.invoices, "Contacts": self.contacts,
                "PurchaseOrders": self.purchase_orders}.get(collection)

    def _get(self, collection: str, item: str | None, query: dict[str, str]) -> StubResponse:
        store = self._store(collection)
        if store is None:
            return StubResponse(404, {"Title": "Not Found", "Status": 404})
        if item is not None:
            if item not in store:
                return StubResponse(404, {"Title": "Not Found", "Status": 404,
                                          "Detail": f"{collection[:-1]} not found"})
            return StubResponse(200, self._envelope(collection, [store[item]]))
        rows = list(store.values())
        try:
            rows = [row for row in rows if self._where(row, query.get("where", ""))]
        except ValueError as err:
            return StubResponse(400, {"ErrorNumber": 16, "Type": "QueryParseException",
                                      "Message": str(err)})
        if collection == "PurchaseOrders" and query.get("status"):
            rows = [row for row in rows if row["Status"] == query["status"]]
        if "page" in query:
            page = int(query["page"])
            rows = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return StubResponse(200, self._envelope(collection, rows))

    @staticmethod
    def _where(row: dict[str, Any], where: str) -> bool:
        pos, result = 0, True
        while pos < len(where):
            clause = _CLAUSE.match(where, pos)
            if not clause:
                raise ValueError(f"Operator '{where[pos:pos + 20]}' is not supported")
            value: Any = row
            for part in clause["field"].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if clause["guid"] is not None:
                wanted: Any = clause["guid"].lower()
                value = str(value).lower()
            elif clause["quoted"] is not None:
                wanted = re.sub(r"\\(.)", r"\1", clause["quoted"])
            else:
                wanted = clause["bare"] == "true"
            equal = value == wanted
            result = result and (equal if clause["op"] == "==" else not equal)
            pos = clause.end()
            joiner = re.compile(r"AND\s+").match(where, pos)
            if joiner:
                pos = joiner.end()
            elif pos < len(where):
                raise ValueError(f"Unexpected '{where[pos:pos + 20]}'")
        return result

    def _create(self, collection: str, body: dict[str, Any]) -> StubResponse:
        rows = body.get(collection)
        if not isinstance(rows, list) or not rows:
            return StubResponse(400, validation_exception({}, [f"No {collection} were supplied"]))
        if collection == "Contacts":
            created = []
            for row in rows:
                name = row.get("Name", "")
                if any(c["Name"] == name for c in self.contacts.values()):
                    return StubResponse(400, validation_exception(row, [
                        (f"The contact name {name} is already assigned to another contact. The "
                        f"contact name must be unique across all active contacts.")]))
                contact_id = self.add_contact(name, email=row.get("EmailAddress", ""),
                                              tax_number=row.get("TaxNumber", ""),
                                              bank_account=row.get("BankAccountDetails", ""))
                created.append(self.contacts[contact_id])
            return StubResponse(200, self._envelope("Contacts", created))
        if collection == "Invoices":
            created = []
            for row in rows:
                invoice, errors = self._build_invoice(row)
                if errors:
                    return StubResponse(400, validation_exception(row, errors))
                created.append(invoice)
            for invoice in created:
                self.invoices[invoice["InvoiceID"]] = invoice
            return StubResponse(200, self._envelope("Invoices", created))
        return StubResponse(404, {"Title": "Not Found", "Status": 404})

    def _build_invoice(self, row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        errors: list[str] = []
        kind = row.get("Type")
        if kind not in ("ACCPAY", "ACCREC"):
            errors.append("Invoice Type must be specified")
        contact_in = row.get("Contact") or {}
        contact = None
        if contact_in.get("ContactID"):
            contact = self.contacts.get(contact_in["ContactID"])
            if contact is None:
                errors.append("The contact could not be found")
        elif contact_in.get("Name"):
            match = [c for c in self.contacts.values() if c["Name"] == contact_in["Name"]]
            # Xero creates a contact named in an invoice when none exists yet.
            contact = match[0] if match else self.contacts[self.add_contact(contact_in["Name"])]
        else:
            errors.append("A Contact must be specified for this type of transaction")
        status = row.get("Status", "DRAFT")
        if status in ("SUBMITTED", "AUTHORISED") and not row.get("DueDate"):
            errors.append("Due Date is required.")
        items = row.get("LineItems") or []
        if status == "AUTHORISED" and not items:
            errors.append("Invoice must have at least one line item.")
        line_items, sub_total, total_tax = [], Decimal(0), Decimal(0)
        for item in items:
            code = item.get("AccountCode", "")
            if code not in self.account_codes:
                errors.append(f"Account code '{code}' is not a valid code for this document.")
            quantity = Decimal(item.get("Quantity", 1))
            unit = Decimal(item.get("UnitAmount", 0))
            line_amount = Decimal(item.get("LineAmount",
                                           (quantity * unit).quantize(Decimal("0.01"),
                                                                      ROUND_HALF_UP)))
            tax = Decimal(item.get("TaxAmount", 0))
            sub_total += line_amount
            total_tax += tax
            line_items.append({**item, "LineItemID": str(uuid.uuid4()), "Quantity": quantity,
                               "UnitAmount": unit, "LineAmount": line_amount, "TaxAmount": tax})
        if errors:
            return {}, errors
        total = sub_total + total_tax
        invoice = {
            "InvoiceID": str(uuid.uuid4()), "Type": kind, "Status": status,
            "InvoiceNumber": row.get("InvoiceNumber", ""),
            "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
            "Date": _ms_date(row["Date"]) if row.get("Date") else None,
            "DateString": f"{row['Date']}T00:00:00" if row.get("Date") else None,
            "DueDate": _ms_date(row["DueDate"]) if row.get("DueDate") else None,
            "DueDateString": f"{row['DueDate']}T00:00:00" if row.get("DueDate") else None,
            "LineAmountTypes": row.get("LineAmountTypes", "Exclusive"),
            "CurrencyCode": row.get("CurrencyCode", "NZD"), "LineItems": line_items,
            "SubTotal": sub_total, "TotalTax": total_tax, "Total": total,
            "AmountDue": total, "AmountPaid": Decimal(0), "Url": row.get("Url", ""),
        }
        if kind == "ACCREC" and row.get("Reference"):
            invoice["Reference"] = row["Reference"]
        return invoice, []
