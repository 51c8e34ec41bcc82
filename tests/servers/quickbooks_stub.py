"""QuickBooks Online Accounting API v3 stand-in (the subset our client uses), on 127.0.0.1.

Wire shapes follow Intuit's documentation: entities wrapped in their name (``{"Bill": {...},
"time": ...}``), query results in ``QueryResponse``, errors as ``{"Fault": {"Error": [{"Message",
"Detail", "code"}], "type"}, "time"}``, idempotent writes keyed by the ``requestid`` query
parameter (a repeat returns the first response), OAuth2 bearer tokens. Amounts are JSON numbers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.servers.http_stub import StubRequest, StubResponse, StubServer

_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<entity>[a-z]+)(?:/(?P<id>[^/]+))?$")
_QUERY = re.compile(
    r"^\s*select\s+\*\s+from\s+(?P<entity>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+startposition\s+(?P<start>\d+))?"
    r"(?:\s+maxresults\s+(?P<max>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"\s*(?P<field>[\w.]+)\s*=\s*(?:'(?P<quoted>(?:\\.|[^'\\])*)'|(?P<bare>true|false|\d+))\s*",
    re.IGNORECASE,
)
_ENTITY_NAMES = {"bill": "Bill", "vendor": "Vendor", "purchaseorder": "PurchaseOrder"}
MAX_REQUEST_ID = 50


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def fault(message: str, detail: str, code: str, kind: str = "ValidationFault") -> dict[str, Any]:
    error = {"Message": message, "Detail": detail, "code": code}
    return {"Fault": {"Error": [error], "type": kind}, "time": _now()}


class QuickBooksStub(StubServer):
    """In-memory QBO company. Tests seed it with ``add_vendor`` / ``add_purchase_order`` and
    inspect ``bills``; ``pay_bill`` records a payment as the QBO user would."""

    def __init__(self, *, realm_id: str = "9130350000000001", access_token: str = "qbo-token",
                 expense_account_ids: tuple[str, ...] = ("7", "8")) -> None:
        super().__init__()
        self.realm_id = realm_id
        self.access_token = access_token
        self.accounts = set(expense_account_ids)
        self.vendors: dict[str, dict[str, Any]] = {}
        self.bills: dict[str, dict[str, Any]] = {}
        self.purchase_orders: dict[str, dict[str, Any]] = {}
        self._replies: dict[tuple[str, str], StubResponse] = {}
        self._next_id = 100

    # --- seeding and inspection ----------------------------------------------------------------
    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def add_vendor(self, name: str, *, email: str = "", active: bool = True,
                   tax_id: str = "", country: str = "") -> str:
        with self._lock:
            vid = self._new_id()
            vendor: dict[str, Any] = {"Id": vid, "SyncToken": "0", "DisplayName": name,
                                      "CompanyName": name, "Active": active, "Balance": 0}
            if email:
                vendor["PrimaryEmailAddr"] = {"Address": email}
            if tax_id:
                # QBO only ever returns the last four characters of a tax id.
                vendor["TaxIdentifier"] = "XXXXXX" + tax_id[-4:]
            if country:
                vendor["BillAddr"] = {"Country": country}
            self.vendors[vid] = vendor
            return vid

    def add_purchase_order(self, *, vendor_id: str, doc_number: str, lines: list[dict[str, Any]],
                           status: str = "Open", currency: str = "USD",
                           txn_date: str = "2026-01-10") -> str:
        with self._lock:
            pid = self._new_id()
            out_lines = []
            for i, line in enumerate(lines, start=1):
                qty, price = Decimal(str(line["qty"])), Decimal(str(line["unit_price"]))
                out_lines.append({
                    "Id": str(i), "LineNum": i, "Description": line.get("description", ""),
                    "Amount": qty * price, "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "1"}, "Qty": qty,
                                                   "UnitPrice": price},
                })
            self.purchase_orders[pid] = {
                "Id": pid, "DocNumber": doc_number, "POStatus": status, "TxnDate": txn_date,
                "VendorRef": {"value": vendor_id, "name": self.vendors[vendor_id]["DisplayName"]},
                "CurrencyRef": {"value": currency}, "Line": out_lines,
                "TotalAmt": sum((ln["Amount"] for ln in out_lines), Decimal(0)),
            }
            return pid

    def pay_bill(self, bill_id: str, amount: Decimal) -> None:
        with self._lock:
            bill = self.bills[bill_id]
            bill["Balance"] = bill["Balance"] - amount

    # --- fault shapes --------------------------------------------------------------------------
    def auth_fault(self) -> dict[str, Any]:
        return fault("message=AuthenticationFailed; errorCode=003200; statusCode=401",
                     "Token expired or invalid", "3200", "AUTHENTICATION")

    def error_body(self, status: int) -> Any:
        if status == 429:
            return fault("message=ThrottleExceeded; errorCode=003001; statusCode=429",
                         "The request limit was reached.", "3001", "ThrottleExceeded")
        if status >= 500:
            return fault("An application error has occurred while processing your request",
                         "System Failure Error: internal error", "10000", "SystemFault")
        return None

    # --- routing -------------------------------------------------------------------------------
    def route(self, request: StubRequest) -> StubResponse:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return StubResponse(401, self.auth_fault())
        match = _PATH.match(request.path)
        if not match:
            return StubResponse(404, fault("Unsupported Operation", request.path, "500"))
        if match["realm"] != self.realm_id:
            return StubResponse(403, fault("ApplicationAuthorizationFailed",
                                           "company not authorised", "003100",
                                           "AuthorizationFault"))
        entity, obj_id = match["entity"], match["id"]
        if request.method == "GET" and entity == "query":
            return self._query(request.query.get("query", ""))
        if request.method == "GET" and obj_id and entity in _ENTITY_NAMES:
            store = self._store(entity)
            if obj_id not in store:
                return StubResponse(400, fault("Object Not Found",
                                               f"Object Not Found : Something you're trying to "
                                               f"use has been made inactive. Check the fields "
                                               f"with accounts, customers, items, vendors or "
                                               f"employees. Id {obj_id}", "610"))
            return StubResponse(200, {_ENTITY_NAMES[entity]: store[obj_id], "time": _now()})
        if request.method == "POST" and not obj_id and entity in ("bill", "vendor"):
            request_id = request.query.get("requestid", "")
            if len(request_id) > MAX_REQUEST_ID:
                return StubResponse(400, fault("Request has invalid or unsupported property",
                                               "requestid longer than 50 characters", "2010"))
            if request_id and (entity, request_id) in self._replies:
                return self._replies[(entity, request_id)]
            response = self._create_bill(request.body) if entity == "bill" else \
                self._create_vendor(request.body)
            if request_id:
                self._replies[(entity, request_id)] = response
            return response
        return StubResponse(400, fault("Unsupported Operation",
                                       f"{request.method} {request.path}", "500"))

    def _store(self, entity: str) -> dict[str, dict[str, Any]]:
        return {"bill": self.bills, "vendor": self.vendors,
                "purchaseorder": self.purchase_orders}[entity]

    def _query(self, text: str) -> StubResponse:
        match = _QUERY.match(text)
        if not match or match["entity"].lower() not in _ENTITY_NAMES:
            return StubResponse(400, fault("Error parsing query",
                                           f"QueryParserError: Encountered \"{text[:40]}\"",
                                           "4000"))
        conditions: list[tuple[str, str]] = []
        where, pos = match["where"] or "", 0
        while pos < len(where):
            cond = _CONDITION.match(where, pos)
            if not cond:
                return StubResponse(400, fault("Error parsing query",
                                               f"QueryParserError: {where[pos:pos + 40]}",
                                               "4000"))
            value = cond["quoted"] if cond["quoted"] is not None else cond["bare"]
            conditions.append((cond["field"], re.sub(r"\\(.)", r"\1", value)))
            pos = cond.end()
            joiner = re.compile(r"and\s+", re.IGNORECASE).match(where, pos)
            if joiner:
                pos = joiner.end()
            elif pos < len(where):
                return StubResponse(400, fault("Error parsing query",
                                               f"QueryParserError: {where[pos:pos + 40]}",
                                               "4000"))
        entity = match["entity"].lower()
        rows = [row for row in self._store(entity).values()
                if all(self._field(row, f) == v for f, v in conditions)]
        start = int(match["start"] or 1)
        limit = min(int(match["max"] or 100), 1000)
        page = rows[start - 1:start - 1 + limit]
        body: dict[str, Any] = {}
        if page:
            body = {_ENTITY_NAMES[entity]: page, "startPosition": start, "maxResults": len(page)}
        return StubResponse(200, {"QueryResponse": body, "time": _now()})

    @staticmethod
    def _field(row: dict[str, Any], name: str) -> str:
        value: Any = row
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    def _create_vendor(self, body: Any) -> StubResponse:
        name = (body or {}).get("DisplayName", "")
        if not name:
            return StubResponse(400, fault("Required param missing, need to supply the required "
                                           "value for the API",
                                           "Required parameter DisplayName is missing", "2020"))
        if any(v["DisplayName"] == name for v in self.vendors.values()):
            return StubResponse(400, fault("Duplicate Name Exists Error",
                                           f"The name supplied already exists. : {name}", "6240"))
        vid = self.add_vendor(name, email=(body.get("PrimaryEmailAddr") or {}).get("Address", ""))
        return StubResponse(200, {"Vendor": self.vendors[vid], "time": _now()})

    def _create_bill(self, body: Any) -> StubResponse:
        body = body or {}
        vendor_ref = (body.get("VendorRef") or {}).get("value")
        if not vendor_ref:
            return StubResponse(400, fault("Required param missing, need to supply the required "
                                           "value for the API",
                                           "Required parameter VendorRef is missing in the "
                                           "request", "2020"))
        if vendor_ref not in self.vendors:
            return StubResponse(400, fault("Invalid Reference Id",
                                           f"Invalid Reference Id : Vendor assigned to this "
                                           f"transaction has been deleted. Id {vendor_ref}",
                                           "2500"))
        lines = body.get("Line") or []
        if not lines:
            return StubResponse(400, fault("Required param missing, need to supply the required "
                                           "value for the API",
                                           "Required parameter Line is missing in the request",
                                           "2020"))
        stored_lines = []
        for number, line in enumerate(lines, start=1):
            detail_type = line.get("DetailType")
            if detail_type not in ("AccountBasedExpenseLineDetail",
                                   "ItemBasedExpenseLineDetail"):
                return StubResponse(400, fault(
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: Line {number}: unsupported DetailType "
                    f"{detail_type!r} for a Bill", "6000"))
            detail = line.get(detail_type) or {}
            if detail_type == "AccountBasedExpenseLineDetail":
                account = (detail.get("AccountRef") or {}).get("value")
                if account not in self.accounts:
                    return StubResponse(400, fault(
                        "A business validation error has occurred while processing your request",
                        f"Business Validation Error: Select an expense account for line "
                        f"{number} (AccountRef {account!r} is unknown).", "6000"))
            amount = line.get("Amount")
            if not isinstance(amount, (int, Decimal)):
                return StubResponse(400, fault("Request has invalid or unsupported property",
                                               f"Line {number}: Amount is not a number", "2010"))
            stored_lines.append({**line, "Id": str(number), "LineNum": number,
                                 "Amount": Decimal(amount)})
        total = sum((ln["Amount"] for ln in stored_lines), Decimal(0))
        bill_id = self._new_id()
        bill = {
            "Id": bill_id, "SyncToken": "0", "domain": "QBO", "sparse": False,
            "VendorRef": {"value": vendor_ref, "name": self.vendors[vendor_ref]["DisplayName"]},
            "Line": stored_lines, "TotalAmt": total, "Balance": total,
            "MetaData": {"CreateTime": _now(), "LastUpdatedTime": _now()},
        }
        for key in ("DocNumber", "TxnDate", "DueDate", "CurrencyRef", "PrivateNote",
                    "GlobalTaxCalculation"):
            if key in body:
                bill[key] = body[key]
        self.bills[bill_id] = bill
        return StubResponse(200, {"Bill": bill, "time": _now()})
