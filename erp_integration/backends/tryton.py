"""Tryton (trytond >= 8.2 with ``account_invoice``) over JSON-RPC.

Mapping (see docs/decisions/0003-tryton-idempotency.md):
- a supplier invoice is ``account.invoice`` with ``type='in'``; ``reference`` = the vendor's invoice
  number (what Tryton's own duplicate check and its users search by); ``description`` starts with
  ``[<idempotency key>]``, which is how ``find_invoice`` recognises our document;
- the vendor is a ``party.party`` found by tax identifier, then by exact name, else created with one
  address (Tryton's client adds it through on_change; plain JSON-RPC does not);
- a credit note is an ``in`` invoice with negative quantities (Tryton numbers it from the supplier
  credit-note sequence);
- purchase orders (``purchase`` module) are read with received quantities from done stock moves;
- taxes are matched by percentage rate among the company's percentage taxes; an explicit
  ``account_code`` on a line wins over the default expense account of the account configuration.

Guarantees of ``post_invoice`` (sequential callers, any number of retries):
- create and post are separate RPC transactions; whatever state a crash or timeout leaves (nothing,
  a draft, a posted invoice) the next call finds it by key and finishes it: one posted invoice;
- Tryton's "similar invoice" warning (same party + reference) is never acknowledged. When it fires
  because a concurrent caller created a draft with the same key, the callers converge on the draft
  with the lowest id and delete the others (drafts without a number are deletable). When it fires
  for a document with another key, the post fails with VALIDATION and Tryton's message.
Concurrent callers with the same key: safe as long as both resolve the same party (see the decision
record for the first-invoice-of-a-new-vendor race); the outbox row lock (``select_for_update`` on
the posting) is what keeps two workers from sending one posting at once in the first place.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from erp_integration.backends.base import (
    ErpBackend,
    ErpError,
    ErpErrorCode,
    ErpInvoice,
    ErpInvoiceLine,
    ErpPostResult,
    ErpPurchaseOrder,
    ErpPurchaseOrderLine,
    ErpVendor,
    PaymentStatus,
)
from erp_integration.backends.jsonrpc import DEFAULT_TIMEOUT, TrytonClient, TrytonUserError

INVOICE = "account.invoice"
DONE_STATES = ("posted", "paid")
# How long concurrent callers keep trying to converge on one draft before giving up (CONFLICT).
CONVERGE_ATTEMPTS = 20
CONVERGE_PAUSE = 0.1  # seconds; a competing post takes ~0.1-0.5 s on SQLite
# Tryton's default ``[product] price_decimal`` (the digits of every unit price). The server's
# value is not readable over RPC (``ir.configuration`` is not exposed): a server configured
# otherwise needs ``TrytonBackend(price_digits=...)``.
PRICE_DIGITS = 4
# Decimals of a quantity sent as a float: far more than any invoice states, and few enough that
# the float's shortest repr is the decimal we meant.
QUANTITY_STEP = Decimal("0.000001")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _compact_tax_id(value: str) -> str:
    return re.sub(r"[\s.\-/]", "", value).upper()


def _plain(value: Decimal) -> str:
    """``3.000000`` -> ``3``, ``33.333330`` -> ``33.33333``; never exponent notation."""
    return f"{Decimal(value).normalize():f}"


def key_marker(idempotency_key: str) -> str:
    """The prefix of ``description`` that carries our idempotency key."""
    return f"[{idempotency_key}]"


@dataclass
class _Defaults:
    company: int
    currency_by_code: dict[str, int]
    journal: int
    payable_account: int | None
    expense_account: int | None
    tax_by_rate: dict[Decimal, int]
    currency_digits: dict[int, int]
    price_digits: int


class TrytonBackend(ErpBackend):
    """Supplier invoices, vendors and payment status in one Tryton database.

    Configured from settings TRYTON_URL, TRYTON_DATABASE, TRYTON_USER, TRYTON_PASSWORD unless
    explicit values are passed (tests and the benchmark do). Instances are cheap and not
    thread-safe: one per task run or per thread.
    """

    name = "tryton"
    reusable = True

    def __init__(
        self, *, url: str | None = None, database: str | None = None, user: str | None = None,
        password: str | None = None, timeout: float = DEFAULT_TIMEOUT,
        company_id: int | None = None, price_digits: int = PRICE_DIGITS,
    ):
        if url is None:
            from django.conf import settings

            url = settings.TRYTON_URL
            database = settings.TRYTON_DATABASE if database is None else database
            user = settings.TRYTON_USER if user is None else user
            password = settings.TRYTON_PASSWORD if password is None else password
        self.client = TrytonClient(
            url=url or "", database=database or "", user=user or "", password=password or "",
            timeout=timeout,
        )
        self._company_id = company_id
        self._price_digits = price_digits
        self._defaults: _Defaults | None = None

    def settings_key(self) -> tuple:
        c = self.client
        return (c.url, c.database, c.user, c._password, self._company_id)

    # --- configuration read from Tryton -------------------------------------------------------

    def _load_defaults(self) -> _Defaults:
        if self._defaults is not None:
            return self._defaults
        c = self.client
        company = self._company_id
        if company is None:
            prefs = c.call("model.res.user.get_preferences", True, {})
            company = prefs.get("company")
            if not company:
                raise ErpError(
                    ErpErrorCode.NOT_CONFIGURED, f"Tryton user {c.user!r} has no current company"
                )
        c.context = {"company": company, "language": "en"}
        journals = c.search(
            "account.journal", [("type", "=", "expense")], limit=1, order=[["id", "ASC"]]
        )
        if not journals:
            raise ErpError(ErpErrorCode.NOT_CONFIGURED, "Tryton has no expense journal")
        config, = c.read(
            "account.configuration", [1],
            ["default_account_payable", "default_category_account_expense"],
        )
        taxes = c.search_read(
            "account.tax",
            [("company", "=", company), ("type", "=", "percentage"), ("parent", "=", None)],
            ["rate"], order=[["id", "ASC"]],
        )
        tax_by_rate: dict[Decimal, int] = {}
        for tax in taxes:
            tax_by_rate.setdefault((tax["rate"] * 100).normalize(), tax["id"])
        currencies = c.search_read("currency.currency", [], ["code", "digits"])
        self._defaults = _Defaults(
            company=company,
            currency_by_code={cur["code"]: cur["id"] for cur in currencies},
            journal=journals[0],
            payable_account=config.get("default_account_payable"),
            expense_account=config.get("default_category_account_expense"),
            tax_by_rate=tax_by_rate,
            currency_digits={cur["id"]: cur["digits"] for cur in currencies},
            price_digits=self._price_digits,
        )
        return self._defaults

    # --- vendors ------------------------------------------------------------------------------

    def _find_party(self, vendor: ErpVendor) -> int | None:
        c = self.client
        if vendor.erp_id:
            return int(vendor.erp_id)
        if vendor.tax_id:
            codes = sorted({vendor.tax_id, _compact_tax_id(vendor.tax_id)})
            found = c.search(
                "party.party", [("identifiers.code", "in", codes)], limit=1, order=[["id", "ASC"]]
            )
            if found:
                return found[0]
        found = c.search(
            "party.party", [("name", "=", vendor.name)], limit=1, order=[["id", "ASC"]]
        )
        return found[0] if found else None

    def _ensure_party(self, vendor: ErpVendor) -> int:
        party = self._find_party(vendor)
        if party is not None:
            return party
        values: dict[str, Any] = {"name": vendor.name, "addresses": [("create", [{}])]}
        if vendor.tax_id:
            values["identifiers"] = [("create", [self._identifier(vendor.tax_id)])]
        if vendor.email:
            values["contact_mechanisms"] = [("create", [{"type": "email", "value": vendor.email}])]
        try:
            created, = self.client.create("party.party", [values])
        except TrytonUserError:
            # A concurrent create of the same vendor can collide on the party code sequence
            # ("code must be unique"): the other caller's party is the one to use.
            found = self._find_party(vendor)
            if found is None:
                raise
            return found
        # Two callers may have created the same vendor at once: both settle on the lowest id.
        return self._find_party(vendor) or created

    @staticmethod
    def _identifier(tax_id: str) -> dict[str, str | None]:
        from stdnum.eu import vat

        compact = _compact_tax_id(tax_id)
        if vat.is_valid(compact):
            return {"type": "eu_vat", "code": compact}
        return {"type": None, "code": compact}

    # --- invoices -----------------------------------------------------------------------------

    def _candidates(self, payload: ErpInvoice) -> list[dict]:
        """Non-cancelled supplier invoices carrying this key, oldest first.

        LIKE is case-insensitive on SQLite (and ``ilike``-like on some collations), so the exact,
        case-sensitive prefix is checked again here.
        """
        d = self._load_defaults()
        marker = key_marker(payload.idempotency_key)
        domain = [
            ("type", "=", "in"),
            ("company", "=", d.company),
            ("state", "!=", "cancelled"),
            ("description", "like", _escape_like(marker) + "%"),
        ]
        fields = ["state", "number", "party", "reference", "description"]
        rows = self._search_read_settled(domain, fields, order=[["id", "ASC"]])
        return [row for row in rows if (row["description"] or "").startswith(marker)]

    def _search_read_settled(self, domain: list, fields: list[str], **kwargs) -> list[dict]:
        """``search_read`` on invoices, searched again when a record it found was deleted before
        it was read: without a snapshot (trytond on SQLite) a concurrent caller with our key can
        delete its draft between the two. Any other refusal is raised."""
        for _attempt in range(CONVERGE_ATTEMPTS - 1):
            try:
                return self.client.search_read(INVOICE, domain, fields, **kwargs)
            except TrytonUserError as err:
                if not err.missing_ids:
                    raise
        return self.client.search_read(INVOICE, domain, fields, **kwargs)

    def find_invoice(self, payload: ErpInvoice) -> ErpPostResult | None:
        """The posted (or paid) invoice for this key, or None.

        A draft left by an interrupted post is not returned here (``post_invoice`` finishes it).
        """
        for row in self._candidates(payload):
            if row["state"] in DONE_STATES:
                return ErpPostResult(
                    erp_id=str(row["id"]), erp_number=row["number"] or "", already_existed=True
                )
        return None

    def post_invoice(self, payload: ErpInvoice) -> ErpPostResult:
        """Create and post the supplier invoice exactly once; see the module docstring."""
        candidates = self._candidates(payload)
        done = [row for row in candidates if row["state"] in DONE_STATES]
        if done:
            return ErpPostResult(
                erp_id=str(done[0]["id"]), erp_number=done[0]["number"] or "", already_existed=True
            )
        if candidates:
            # A draft (or validated) invoice from an interrupted earlier call: finish it.
            return self._post_converging(payload, own=candidates[0]["id"], created=False)
        values = self.invoice_values(payload)
        own, = self.client.create(INVOICE, [values])
        return self._post_converging(payload, own=own, created=True)

    def create_draft(self, payload: ErpInvoice) -> int:
        """Only the first RPC transaction of ``post_invoice``: what a crash before post leaves."""
        own, = self.client.create(INVOICE, [self.invoice_values(payload)])
        return own

    def _post_converging(self, payload: ErpInvoice, *, own: int, created: bool) -> ErpPostResult:
        """Post ``own`` unless another invoice with the same key is (or becomes) the winner.

        Protocol shared by every caller: a posted invoice with the key wins; otherwise the draft
        with the lowest id wins and any caller deletes the other drafts carrying the key.
        """
        last: Exception | None = None
        for _attempt in range(CONVERGE_ATTEMPTS):
            candidates = self._candidates(payload)
            done = [row for row in candidates if row["state"] in DONE_STATES]
            if done:
                winner = done[0]
                for row in candidates:
                    if row["state"] not in DONE_STATES:
                        self._discard(row["id"])
                return ErpPostResult(
                    erp_id=str(winner["id"]), erp_number=winner["number"] or "",
                    already_existed=winner["id"] != own or not created,
                )
            ids = [row["id"] for row in candidates]
            if ids and ids[0] != own:
                own, created = ids[0], False
            for other in ids:
                if other != own:
                    self._discard(other)
            try:
                self.client.model(INVOICE, "post", [own])
            except TrytonUserError as err:
                similar = err.warning_name.endswith("invoice_similar")
                fresh_rows = self._candidates(payload)
                fresh = [row["id"] for row in fresh_rows]
                if any(row["state"] in DONE_STATES for row in fresh_rows):
                    continue  # a concurrent caller posted one meanwhile: the loop returns it
                if similar and self._similar_foreign(payload, own):
                    # Similar to a document that is not ours: a real duplicate. Never acknowledge.
                    raise
                # Tryton's own duplicate check reads the other drafts with our key; one deleted
                # by a concurrent caller meanwhile makes the post fail on that record, not ours.
                gone_elsewhere = bool(err.missing_ids) and own not in err.missing_ids
                if not similar and own in fresh and not gone_elsewhere:
                    raise
                last = err  # a concurrent caller's draft, or ours deleted by it: look again
                time.sleep(CONVERGE_PAUSE)
                continue
            row, = self.client.read(INVOICE, [own], ["number", "state"])
            return ErpPostResult(
                erp_id=str(own), erp_number=row["number"] or "", already_existed=not created
            )
        raise ErpError(
            ErpErrorCode.CONFLICT,
            f"Several Tryton drafts carry key {payload.idempotency_key!r} and none could be posted",
        ) from last

    def _similar_foreign(self, payload: ErpInvoice, own: int) -> bool:
        """Whether an invoice Tryton calls similar to ``own`` exists that is not a live one of ours.

        Tryton's check (same company, party, reference; any state) is repeated here because its
        warning does not say which document it saw, and a concurrent caller's draft with our key
        may have triggered it and been deleted since.
        """
        try:
            rows = self.client.read(INVOICE, [own], ["party"])
        except TrytonUserError:
            rows = []  # a concurrent caller with our key discarded this draft meanwhile
        if not rows:
            return False
        similar = self._search_read_settled(
            [
                ("type", "=", "in"),
                ("company", "=", self._load_defaults().company),
                ("party", "=", rows[0]["party"]),
                ("reference", "=", payload.invoice_number),
                ("id", "!=", own),
            ],
            ["description", "state"],
        )
        marker = key_marker(payload.idempotency_key)
        # A cancelled invoice with our key is foreign too: re-posting after a cancel is a human's
        # decision, and the lookup by key skips cancelled documents, so it would never resolve.
        return any(
            row["state"] == "cancelled" or not (row["description"] or "").startswith(marker)
            for row in similar
        )

    def _discard(self, invoice_id: int) -> None:
        try:
            self.client.model(INVOICE, "delete", [invoice_id])
        except TrytonUserError:
            # Already gone (the other caller won the same race) or not deletable any more.
            pass

    def invoice_values(self, payload: ErpInvoice) -> dict[str, Any]:
        """The ``account.invoice`` create values for ``payload`` (vendor resolved or created)."""
        d = self._load_defaults()
        currency = d.currency_by_code.get(payload.currency)
        if currency is None:
            raise ErpError(
                ErpErrorCode.VALIDATION, f"Tryton has no currency {payload.currency!r}"
            )
        party = self._ensure_party(payload.vendor)
        party_row, = self.client.read(
            "party.party", [party], ["addresses", "account_payable"]
        )
        if not party_row["addresses"]:
            address, = self.client.create("party.address", [{"party": party}])
        else:
            address = party_row["addresses"][0]
        payable = party_row.get("account_payable") or d.payable_account
        sign = Decimal(-1) if payload.is_credit_note else Decimal(1)
        lines = payload.lines or (
            ErpInvoiceLine(
                description=payload.description or payload.invoice_number,
                quantity=Decimal(1), unit_price=payload.net_amount,
                amount=payload.net_amount, tax_rate=self._implied_rate(payload),
            ),
        )
        line_values = [self._line_values(line, sign=sign, currency=currency) for line in lines]
        description = f"{key_marker(payload.idempotency_key)} {payload.description}".strip()
        values: dict[str, Any] = {
            "type": "in",
            "company": d.company,
            "currency": currency,
            "journal": d.journal,
            "account": payable,
            "party": party,
            "invoice_address": address,
            "invoice_date": payload.issue_date,
            "reference": payload.invoice_number,
            "description": description,
            "lines": [("create", line_values)],
        }
        if payload.due_date:
            values["payment_term_date"] = payload.due_date
        if payload.po_number:
            values["comment"] = f"PO {payload.po_number}"
        return values

    @staticmethod
    def _implied_rate(payload: ErpInvoice) -> Decimal | None:
        if not payload.net_amount or not payload.tax_amount:
            return None
        return (payload.tax_amount * 100 / payload.net_amount).quantize(Decimal("1"))

    def _line_values(self, line: ErpInvoiceLine, *, sign: Decimal, currency: int) -> dict:
        d = self._load_defaults()
        account = d.expense_account
        if line.account_code:
            found = self.client.search(
                "account.account",
                [("code", "=", line.account_code), ("company", "=", d.company)], limit=1,
            )
            if not found:
                raise ErpError(
                    ErpErrorCode.VALIDATION,
                    f"Tryton has no account with code {line.account_code!r}",
                )
            account = found[0]
        taxes: list[int] = []
        if line.tax_rate:
            tax = d.tax_by_rate.get(Decimal(line.tax_rate).normalize())
            if tax is None:
                raise ErpError(
                    ErpErrorCode.VALIDATION, f"Tryton has no {line.tax_rate} % tax for this company"
                )
            taxes = [tax]
        quantity, unit_price, description = self._fit_digits(line, currency=currency)
        values = {
            "type": "line",
            "company": d.company,
            "currency": currency,
            "account": account,
            "description": description,
            # Tryton's quantity is a Float field; unit_price (money) stays Decimal on the wire.
            "quantity": float(abs(quantity) * sign),
            "unit_price": unit_price,
        }
        if taxes:
            values["taxes"] = [("add", taxes)]
        return values

    def _fit_digits(self, line: ErpInvoiceLine, *, currency: int) -> tuple[Decimal, Decimal, str]:
        """(quantity, unit price, description) of ``line`` as Tryton accepts them.

        Tryton refuses a unit price with more decimals than its price digits (4 by default:
        "3 x 33.33333" fails validation), so the price is rounded half-up to them. If rounding
        would change the line amount in the currency's digits (a large quantity magnifies the
        rounding), the line is booked as 1 x its amount instead, and the original
        "quantity x price" is kept in the description: Tryton's totals must equal the invoice's.
        Quantities travel as floats (a Float field without a unit has no digit limit), rounded
        to ``QUANTITY_STEP``, which a float carries exactly enough for Tryton's
        ``Decimal(str(quantity))`` to read back; the same amount check covers that rounding.
        """
        d = self._load_defaults()
        price_step = Decimal(1).scaleb(-d.price_digits)
        quantity = Decimal(line.quantity).quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP).normalize()
        original = Decimal(line.unit_price)
        price = original.quantize(price_step, rounding=ROUND_HALF_UP)
        if (price == original and quantity == line.quantity) or not line.amount:
            return quantity, price, line.description
        cent = Decimal(1).scaleb(-d.currency_digits.get(currency, 2))
        stated = abs(Decimal(line.amount)).quantize(cent, rounding=ROUND_HALF_UP)
        if (abs(quantity) * price).quantize(cent, rounding=ROUND_HALF_UP) == stated:
            return quantity, price, line.description
        detail = f"{line.description} ({_plain(line.quantity)} × {_plain(original)})"
        return Decimal(1), stated.quantize(price_step), detail

    # --- reads --------------------------------------------------------------------------------

    def payment_status(self, erp_id: str) -> PaymentStatus:
        return self.payment_statuses([erp_id])[erp_id]

    def payment_statuses(self, erp_ids: Sequence[str]) -> dict[str, PaymentStatus]:
        """Paid status of many supplier invoices in two reads, whatever their number.

        PAID means money left: the invoice is ``paid`` (reconciled, e.g. by the Pay wizard or a
        bank statement), or it is posted and its payable lines are covered by ``account.payment``
        records in state ``succeeded`` (a payment journal without a clearing account never
        reconciles). Payments merely submitted, approved or processing do NOT count, although
        Tryton's own ``amount_to_pay`` already subtracts them: that is why it is read with
        ``with_payment=False`` here. Anything paid in part is PARTIALLY_PAID; an id Tryton does not
        know (deleted), a draft or a cancelled invoice is UNKNOWN.
        """
        self._load_defaults()
        wanted = {int(erp_id): erp_id for erp_id in erp_ids}
        result = {erp_id: PaymentStatus.UNKNOWN for erp_id in erp_ids}
        if not wanted:
            return result
        rows = self.client.search_read(
            INVOICE, [("id", "in", sorted(wanted))],
            ["state", "total_amount", "amount_to_pay", "lines_to_pay"],
            context={"with_payment": False},
        )
        posted = [row for row in rows if row["state"] == "posted"]
        invoice_of_line = {line: row["id"] for row in posted for line in row["lines_to_pay"]}
        paid_out: dict[int, Decimal] = {}
        if invoice_of_line:
            for payment in self.client.search_read(
                "account.payment",
                [("line", "in", sorted(invoice_of_line)), ("state", "=", "succeeded"),
                 ("kind", "=", "payable")],
                ["line", "amount"],
            ):
                invoice = invoice_of_line[payment["line"]]
                paid_out[invoice] = paid_out.get(invoice, Decimal(0)) + payment["amount"]
        for row in rows:
            key = wanted[row["id"]]
            if row["state"] == "paid":
                result[key] = PaymentStatus.PAID
            elif row["state"] == "posted":
                total = abs(row["total_amount"])
                left = abs(row["amount_to_pay"] or Decimal(0)) - paid_out.get(row["id"], Decimal(0))
                if left <= 0:
                    result[key] = PaymentStatus.PAID
                elif left < total:
                    result[key] = PaymentStatus.PARTIALLY_PAID
                else:
                    result[key] = PaymentStatus.OPEN
        return result

    def sync_vendors(self) -> list[ErpVendor]:
        """Parties that are suppliers: have supplier invoices or a tax identifier.

        IBAN/BIC come from the ``bank`` module when it is active (it is in our template).
        """
        d = self._load_defaults()
        c = self.client
        with_invoices = {
            row["party"] for row in c.search_read(
                INVOICE, [("type", "=", "in")], ["party"]
            )
        }
        with_tax_id = {row["party"] for row in c.search_read("party.identifier", [], ["party"])}
        company_party = c.read("company.company", [d.company], ["party"])[0]["party"]
        party_ids = sorted((with_invoices | with_tax_id) - {company_party})
        if not party_ids:
            return []
        parties = c.read("party.party", party_ids, ["name", "identifiers", "contact_mechanisms"])
        identifiers = {
            row["id"]: row for row in c.read(
                "party.identifier",
                sorted({i for p in parties for i in p["identifiers"]}), ["code", "type"],
            )
        } if any(p["identifiers"] for p in parties) else {}
        mechanisms = {
            row["id"]: row for row in c.read(
                "party.contact_mechanism",
                sorted({i for p in parties for i in p["contact_mechanisms"]}), ["type", "value"],
            )
        } if any(p["contact_mechanisms"] for p in parties) else {}
        banking = self._bank_numbers(party_ids)
        vendors = []
        for party in parties:
            tax_ids = [identifiers[i]["code"] for i in party["identifiers"] if i in identifiers]
            emails = [
                mechanisms[i]["value"] for i in party["contact_mechanisms"]
                if i in mechanisms and mechanisms[i]["type"] == "email"
            ]
            iban, bic = banking.get(party["id"], ("", ""))
            vendors.append(ErpVendor(
                name=party["name"], tax_id=tax_ids[0] if tax_ids else "", iban=iban, bic=bic,
                email=emails[0] if emails else "", erp_id=str(party["id"]),
            ))
        return vendors

    def _bank_numbers(self, party_ids: list[int]) -> dict[int, tuple[str, str]]:
        c = self.client
        try:
            accounts = c.search_read(
                "bank.account", [("owners", "in", party_ids)], ["owners", "numbers", "bank"]
            )
        except TrytonUserError:
            return {}  # the bank module is not activated in this database
        if not accounts:
            return {}
        numbers = {
            row["id"]: row for row in c.read(
                "bank.account.number", sorted({n for a in accounts for n in a["numbers"]}),
                ["type", "number_compact"],
            )
        }
        banks = {
            row["id"]: row["bic"] or "" for row in c.read(
                "bank", sorted({a["bank"] for a in accounts if a["bank"]}), ["bic"]
            )
        } if any(a["bank"] for a in accounts) else {}
        result: dict[int, tuple[str, str]] = {}
        for account in accounts:
            ibans = [
                numbers[n]["number_compact"] for n in account["numbers"]
                if n in numbers and numbers[n]["type"] == "iban"
            ]
            if not ibans:
                continue
            for owner in account["owners"]:
                if owner in party_ids:
                    result.setdefault(owner, (ibans[0], banks.get(account["bank"], "")))
        return result

    def sync_purchase_orders(self) -> list[ErpPurchaseOrder]:
        """Confirmed and processing purchase orders with quantities received so far.

        A line's received quantity is the sum of its stock moves in state ``done`` (Tryton creates
        one incoming move per line on confirmation and splits it on partial receipt). Quantities
        are in the line's unit. Returns [] when the ``purchase`` module is not activated.
        """
        d = self._load_defaults()
        c = self.client
        try:
            orders = c.search_read(
                "purchase.purchase",
                [("company", "=", d.company), ("state", "in", ["confirmed", "processing"])],
                ["number", "party", "currency", "purchase_date", "lines"],
                order=[["id", "ASC"]],
            )
        except TrytonUserError:
            return []  # no purchase module in this database
        if not orders:
            return []
        code_by_currency = {v: k for k, v in d.currency_by_code.items()}
        line_ids = [line for order in orders for line in order["lines"]]
        lines = {
            row["id"]: row for row in c.read(
                "purchase.line", line_ids,
                ["type", "quantity", "unit_price", "description", "moves"],
            )
        } if line_ids else {}
        move_ids = [m for row in lines.values() for m in row["moves"]]
        moves = {
            row["id"]: row for row in c.read("stock.move", move_ids, ["state", "quantity"])
        } if move_ids else {}
        result = []
        for order in orders:
            po_lines = []
            for line_id in order["lines"]:
                line = lines.get(line_id)
                if not line or line["type"] != "line":
                    continue
                received = sum(
                    (Decimal(str(moves[m]["quantity"])) for m in line["moves"]
                     if m in moves and moves[m]["state"] == "done"),
                    Decimal(0),
                )
                po_lines.append(ErpPurchaseOrderLine(
                    line_no=len(po_lines) + 1,
                    description=line["description"] or "",
                    # Tryton quantities are Float fields: go through str to keep 2.5 as 2.5.
                    quantity=Decimal(str(line["quantity"])),
                    unit_price=line["unit_price"],
                    received_quantity=received,
                ))
            result.append(ErpPurchaseOrder(
                number=order["number"] or str(order["id"]),
                vendor_erp_id=str(order["party"]),
                currency=code_by_currency.get(order["currency"], ""),
                order_date=order["purchase_date"],
                lines=tuple(po_lines),
                erp_id=str(order["id"]),
            ))
        return result
