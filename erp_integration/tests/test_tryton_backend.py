"""TrytonBackend against a real trytond on 127.0.0.1 (template: tests/servers/tryton.py)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal

import pytest
import requests

from erp_integration.backends.base import (
    ErpError,
    ErpErrorCode,
    ErpInvoice,
    ErpInvoiceLine,
    ErpVendor,
    PaymentStatus,
)
from erp_integration.backends.jsonrpc import TrytonClient
from erp_integration.backends.tryton import TrytonBackend, key_marker
from tests.servers.tryton import free_port

pytestmark = pytest.mark.erp


def make_backend(server, **overrides) -> TrytonBackend:
    values = dict(
        url=server.url, database=server.database, user=server.user, password=server.password,
    )
    values.update(overrides)
    return TrytonBackend(**values)


def make_payload(*, vendor_name: str | None = None, tax_id: str = "", credit: bool = False,
                 issue_date: dt.date = dt.date(2025, 3, 14), lines=None) -> ErpInvoice:
    tag = uuid.uuid4().hex[:10]
    lines = lines or (
        ErpInvoiceLine("Consulting", Decimal("3"), Decimal("120.00"), Decimal("360.00"),
                       Decimal("19")),
        ErpInvoiceLine("Books", Decimal("2"), Decimal("25.50"), Decimal("51.00"), Decimal("7")),
    )
    return ErpInvoice(
        idempotency_key=f"test-{tag}",
        vendor=ErpVendor(name=vendor_name or f"Vendor {tag}", tax_id=tax_id),
        invoice_number=f"RE-{tag}",
        issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=30),
        currency="EUR",
        net_amount=Decimal("411.00"),
        tax_amount=Decimal("71.97"),
        total_amount=Decimal("482.97"),
        lines=lines,
        is_credit_note=credit,
    )


@pytest.fixture
def reader(tryton_server) -> TrytonClient:
    """An independent JSON-RPC session to read back what the backend wrote."""
    client = TrytonClient(
        url=tryton_server.url, database=tryton_server.database, user=tryton_server.user,
        password=tryton_server.password,
    )
    client.context = {"company": tryton_server.company_id}
    return client


def invoices_for(reader: TrytonClient, payload: ErpInvoice) -> list[dict]:
    return reader.search_read(
        "account.invoice",
        [("description", "like", key_marker(payload.idempotency_key) + "%")],
        ["state", "number", "untaxed_amount", "tax_amount", "total_amount", "reference", "party",
         "type", "invoice_date", "payment_term_date"],
        order=[["id", "ASC"]],
    )


def test_post_creates_one_posted_supplier_invoice_with_the_right_totals(tryton_server, reader):
    payload = make_payload(tax_id="DE136695976")

    result = make_backend(tryton_server).post_invoice(payload)

    rows = invoices_for(reader, payload)
    assert len(rows) == 1
    row = rows[0]
    assert result.erp_id == str(row["id"])
    assert result.already_existed is False
    assert result.erp_number == row["number"] and row["number"].startswith("SI2025-")
    assert row["state"] == "posted"
    assert row["type"] == "in"
    assert row["reference"] == payload.invoice_number
    assert row["invoice_date"] == payload.issue_date
    assert row["payment_term_date"] == payload.due_date
    assert (row["untaxed_amount"], row["tax_amount"], row["total_amount"]) == (
        Decimal("411.00"), Decimal("71.97"), Decimal("482.97"))
    party, = reader.read("party.party", [row["party"]], ["name"])
    assert party["name"] == payload.vendor.name


def test_posting_the_same_payload_again_returns_the_existing_invoice(tryton_server, reader):
    backend = make_backend(tryton_server)
    payload = make_payload()
    first = backend.post_invoice(payload)

    again = make_backend(tryton_server).post_invoice(payload)

    assert again.already_existed is True
    assert (again.erp_id, again.erp_number) == (first.erp_id, first.erp_number)
    assert len(invoices_for(reader, payload)) == 1
    assert backend.find_invoice(payload) == again


def test_find_invoice_is_none_before_posting(tryton_server):
    assert make_backend(tryton_server).find_invoice(make_payload()) is None


def test_retry_after_a_crash_between_create_and_post_posts_the_draft(tryton_server, reader):
    """GIVEN a draft left by a worker that died after the create RPC and before the post RPC
    WHEN the posting is retried THEN the draft is posted, and no second invoice appears."""
    payload = make_payload()
    draft_id = make_backend(tryton_server).create_draft(payload)
    assert [r["state"] for r in invoices_for(reader, payload)] == ["draft"]

    result = make_backend(tryton_server).post_invoice(payload)

    rows = invoices_for(reader, payload)
    assert [(r["id"], r["state"]) for r in rows] == [(draft_id, "posted")]
    assert result.erp_id == str(draft_id)
    assert result.already_existed is True


def test_two_workers_posting_the_same_payload_at_once_create_one_invoice(tryton_server, reader):
    """Two backend instances (two sessions, as two workers would have) race on one new vendor."""
    for _round in range(2):
        payload = make_payload()
        backends = [make_backend(tryton_server) for _ in range(2)]
        for backend in backends:  # log in and read defaults first so the race is on the posting
            backend._load_defaults()
        barrier = threading.Barrier(2)
        results, errors = [], []

        def post(backend):
            barrier.wait()
            try:
                results.append(backend.post_invoice(payload))
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=post, args=(b,)) for b in backends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        rows = invoices_for(reader, payload)
        assert [r["state"] for r in rows] == ["posted"]
        assert {r.erp_id for r in results} == {str(rows[0]["id"])}
        assert sorted(r.already_existed for r in results) == [False, True]


def test_a_different_document_with_the_same_vendor_number_is_refused_not_acknowledged(
    tryton_server, reader
):
    """Tryton's "similar invoice" warning (same party + reference) surfaces as VALIDATION."""
    first = make_payload(vendor_name=f"Dup Vendor {uuid.uuid4().hex[:6]}")
    make_backend(tryton_server).post_invoice(first)
    second = ErpInvoice(**{**first.__dict__, "idempotency_key": first.idempotency_key + "-b"})

    with pytest.raises(ErpError) as caught:
        make_backend(tryton_server).post_invoice(second)

    assert caught.value.code == ErpErrorCode.VALIDATION
    assert "similar" in caught.value.message
    assert [r["state"] for r in invoices_for(reader, second)] == ["draft"]


def test_credit_note_posts_with_negative_totals(tryton_server, reader):
    payload = make_payload(credit=True)

    result = make_backend(tryton_server).post_invoice(payload)

    row, = invoices_for(reader, payload)
    assert row["state"] == "posted" and result.erp_number.startswith("SC2025-")
    assert row["total_amount"] == Decimal("-482.97")


def test_server_down_is_unavailable():
    backend = TrytonBackend(
        url=f"http://127.0.0.1:{free_port()}", database="x", user="admin", password="x",
        timeout=5,
    )
    with pytest.raises(ErpError) as caught:
        backend.post_invoice(make_payload())
    assert caught.value.code == ErpErrorCode.UNAVAILABLE
    assert caught.value.retryable


def test_wrong_password_is_auth(tryton_server):
    with pytest.raises(ErpError) as caught:
        make_backend(tryton_server, password="not-the-password").post_invoice(make_payload())
    assert caught.value.code == ErpErrorCode.AUTH
    assert not caught.value.retryable


def test_unknown_database_is_not_configured(tryton_server):
    with pytest.raises(ErpError) as caught:
        make_backend(tryton_server, database="no_such_db").post_invoice(make_payload())
    assert caught.value.code == ErpErrorCode.NOT_CONFIGURED


def test_an_expired_session_logs_in_again_once(tryton_server, reader):
    backend = make_backend(tryton_server)
    backend._load_defaults()
    backend.client._auth_header = "Session YWRtaW46MTpub3QtYS10b2tlbg=="  # admin:1:not-a-token

    result = backend.post_invoice(payload := make_payload())

    assert invoices_for(reader, payload)[0]["id"] == int(result.erp_id)


def test_tryton_refusal_is_validation_with_trytons_message(tryton_server, reader):
    """A line booked on the payables account breaks Tryton's domain on invoice lines."""
    payload = make_payload(lines=(
        ErpInvoiceLine("Wrong account", Decimal("1"), Decimal("10.00"), Decimal("10.00"),
                       account_code="2.1.1"),
    ))

    with pytest.raises(ErpError) as caught:
        make_backend(tryton_server).post_invoice(payload)

    assert caught.value.code == ErpErrorCode.VALIDATION
    assert 'field "Account"' in caught.value.message
    assert invoices_for(reader, payload) == []


def test_a_date_outside_every_fiscal_year_is_validation(tryton_server):
    payload = make_payload(issue_date=dt.date(2031, 1, 15))
    with pytest.raises(ErpError) as caught:
        make_backend(tryton_server).post_invoice(payload)
    assert caught.value.code == ErpErrorCode.VALIDATION
    assert "2031" in caught.value.message or "fiscal year" in caught.value.message.lower()


def test_a_missing_tax_rate_is_validation_before_anything_is_created(tryton_server, reader):
    payload = make_payload(lines=(
        ErpInvoiceLine("Odd tax", Decimal("1"), Decimal("10.00"), Decimal("10.00"), Decimal("5")),
    ))
    with pytest.raises(ErpError) as caught:
        make_backend(tryton_server).post_invoice(payload)
    assert caught.value.code == ErpErrorCode.VALIDATION
    assert invoices_for(reader, payload) == []


class FreezeServerBefore(requests.Session):
    """HTTP session that SIGSTOPs the real server just before sending one given RPC method.

    The request then sits in the frozen server's socket; the client times out; after SIGCONT the
    server reads it and runs it to completion: "timed out, but it actually succeeded".
    """

    def __init__(self, server_process, method: str):
        super().__init__()
        self.server_process = server_process
        self.needle = f'"method": "{method}"'
        self.frozen = False

    def post(self, url, data=None, **kwargs):
        if not self.frozen and data and self.needle in data:
            self.server_process.pause()
            self.frozen = True
        return super().post(url, data=data, **kwargs)


def _post_with_frozen_post_rpc(server, server_process, payload) -> ErpError:
    # Long enough for every RPC before the frozen one on a busy machine; the freeze costs this much.
    backend = make_backend(server, timeout=5.0)
    backend.client._http = FreezeServerBefore(server_process, "model.account.invoice.post")
    try:
        with pytest.raises(ErpError) as caught:
            backend.post_invoice(payload)
    finally:
        if backend.client._http.frozen:
            server_process.resume()
    assert backend.client._http.frozen
    return caught.value


def test_timeout_during_post_then_retry_yields_one_invoice(
    tryton_server, tryton_server_process, reader
):
    """GIVEN the server freezes as the post RPC is sent, so the client times out
    WHEN the server resumes, finishes that post, and the caller retries
    THEN the retry finds the posted invoice: one invoice, already_existed."""
    payload = make_payload()

    error = _post_with_frozen_post_rpc(tryton_server, tryton_server_process, payload)

    assert error.code == ErpErrorCode.TIMEOUT
    assert error.retryable
    deadline = time.monotonic() + 30  # the frozen request completes after SIGCONT
    while [r["state"] for r in invoices_for(reader, payload)] != ["posted"]:
        assert time.monotonic() < deadline, invoices_for(reader, payload)
        time.sleep(0.05)

    again = make_backend(tryton_server).post_invoice(payload)

    rows = invoices_for(reader, payload)
    assert len(rows) == 1 and again.erp_id == str(rows[0]["id"])
    assert again.already_existed is True


def test_retry_racing_the_resumed_post_still_yields_one_invoice(
    tryton_server, tryton_server_process, reader
):
    """As above, but the retry starts at once, while the timed-out post may still be running."""
    payload = make_payload()
    _post_with_frozen_post_rpc(tryton_server, tryton_server_process, payload)

    again = make_backend(tryton_server).post_invoice(payload)

    rows = invoices_for(reader, payload)
    assert [r["state"] for r in rows] == ["posted"]
    assert again.erp_id == str(rows[0]["id"])


def test_sync_vendors_lists_suppliers_with_tax_id_and_payment_status_is_open(
    tryton_server, reader
):
    payload = make_payload(tax_id="DE 129 273 398")
    backend = make_backend(tryton_server)
    result = backend.post_invoice(payload)

    vendors = {v.name: v for v in backend.sync_vendors()}

    assert vendors[payload.vendor.name].tax_id == "DE129273398"
    assert vendors[payload.vendor.name].erp_id
    assert "AP Workbench GmbH" not in vendors
    assert backend.payment_status(result.erp_id) == PaymentStatus.OPEN


def test_vendor_with_a_known_tax_id_is_reused_not_duplicated(tryton_server, reader):
    first = make_payload(tax_id="ATU13585627", vendor_name=f"Tax Vendor {uuid.uuid4().hex[:6]}")
    backend = make_backend(tryton_server)
    backend.post_invoice(first)
    renamed = make_payload(tax_id="ATU 1358 5627", vendor_name="Renamed In Our System")

    backend.post_invoice(renamed)

    assert invoices_for(reader, first)[0]["party"] == invoices_for(reader, renamed)[0]["party"]


def test_reposting_after_an_accountant_cancelled_the_invoice_is_refused(tryton_server, reader):
    """A cancelled document is never silently replaced: Tryton's similar warning stands."""
    payload = make_payload()
    result = make_backend(tryton_server).post_invoice(payload)
    reader.model("account.invoice", "cancel", [int(result.erp_id)])
    assert [r["state"] for r in invoices_for(reader, payload)] == ["cancelled"]

    with pytest.raises(ErpError) as caught:
        make_backend(tryton_server).post_invoice(payload)

    assert caught.value.code == ErpErrorCode.VALIDATION
    assert "similar" in caught.value.message


def test_keys_differing_only_in_case_or_wildcards_are_distinct(tryton_server, reader):
    """SQLite's LIKE ignores case and ``_``/``%`` are wildcards: none of that may merge keys."""
    base = make_payload()
    tag = uuid.uuid4().hex[:6]
    keys = [f"Key_{tag}%", f"key_{tag}%", f"keyx{tag}%", f"Key_{tag}"]
    backend = make_backend(tryton_server)
    results = []
    for n, key in enumerate(keys):
        payload = ErpInvoice(**{
            **base.__dict__, "idempotency_key": key, "invoice_number": f"{base.invoice_number}-{n}",
        })
        results.append(backend.post_invoice(payload))

    assert [r.already_existed for r in results] == [False] * 4
    assert len({r.erp_id for r in results}) == 4
    again = backend.post_invoice(ErpInvoice(**{
        **base.__dict__, "idempotency_key": keys[1], "invoice_number": f"{base.invoice_number}-1",
    }))
    assert again.already_existed and again.erp_id == results[1].erp_id


def _pay_in_tryton(reader: TrytonClient, company: int, invoice: int, amount: Decimal) -> None:
    """Pay through Tryton's own "Pay" wizard, as an accountant would in the client."""
    journal, = reader.search("account.journal", [("type", "=", "cash")], limit=1)
    cash, = reader.search("account.account", [("code", "=", "1.1.1"), ("company", "=", company)])
    methods = reader.search("account.invoice.payment.method", [("name", "=", "Test bank")])
    method = methods[0] if methods else reader.create("account.invoice.payment.method", [{
        "company": company, "name": "Test bank", "journal": journal,
        "credit_account": cash, "debit_account": cash,
    }])[0]
    ctx = {**reader.context, "active_model": "account.invoice", "active_id": invoice,
           "active_ids": [invoice]}
    session, start, _end = reader.call("wizard.account.invoice.pay.create", ctx)
    try:
        defaults = reader.call("wizard.account.invoice.pay.execute", session, {}, start, ctx)
        values = {k: v for k, v in defaults["view"]["defaults"].items()
                  if not k.endswith(".") and k != "payees"}
        values.update(amount=amount, payment_method=method, description="test payment")
        data = {start: values}
        answer = reader.call("wizard.account.invoice.pay.execute", session, data, "choice", ctx)
        if answer.get("view"):  # "ask": a partial amount, keep the rest open
            data["ask"] = {"type": "partial"}
            reader.call("wizard.account.invoice.pay.execute", session, data, "pay", ctx)
    finally:
        reader.call("wizard.account.invoice.pay.delete", session, ctx)


def test_payment_status_follows_payments_made_in_tryton(tryton_server, reader):
    backend = make_backend(tryton_server)
    result = backend.post_invoice(make_payload())
    invoice = int(result.erp_id)
    assert backend.payment_status(result.erp_id) == PaymentStatus.OPEN

    _pay_in_tryton(reader, tryton_server.company_id, invoice, Decimal("100.00"))
    assert backend.payment_status(result.erp_id) == PaymentStatus.PARTIALLY_PAID

    _pay_in_tryton(reader, tryton_server.company_id, invoice, Decimal("382.97"))
    assert backend.payment_status(result.erp_id) == PaymentStatus.PAID
    assert reader.read("account.invoice", [invoice], ["state"])[0]["state"] == "paid"


def test_sync_purchase_orders_reports_received_quantities(tryton_server, reader):
    """GIVEN a confirmed PO with two lines, line 1 fully received and 3 of 4 received on line 2
    THEN sync_purchase_orders returns it with those received quantities."""
    ids = tryton_server.ids
    name = f"PO Vendor {uuid.uuid4().hex[:6]}"
    party, = reader.create("party.party", [{"name": name, "addresses": [("create", [{}])]}])
    address = reader.read("party.party", [party], ["addresses"])[0]["addresses"][0]
    po, = reader.create("purchase.purchase", [{
        "company": ids.company, "party": party, "invoice_address": address,
        "currency": ids.currency, "warehouse": ids.warehouse, "purchase_date": dt.date(2025, 3, 1),
        "lines": [("create", [
            {"type": "line", "product": ids.product, "quantity": 10.0, "unit": ids.uom_unit,
             "unit_price": Decimal("80.00"), "description": "Chairs"},
            {"type": "line", "product": ids.product, "quantity": 4.0, "unit": ids.uom_unit,
             "unit_price": Decimal("95.50"), "description": "Chairs deluxe"},
        ])],
    }])
    reader.model("purchase.purchase", "quote", [po])
    reader.model("purchase.purchase", "confirm", [po])
    first_move, second_move = reader.read("purchase.purchase", [po], ["moves"])[0]["moves"]
    reader.model("stock.move", "write", [second_move], {"quantity": 3.0})
    reader.model("stock.move", "do", [first_move, second_move])

    orders = {o.erp_id: o for o in make_backend(tryton_server).sync_purchase_orders()}

    order = orders[str(po)]
    assert order.vendor_erp_id == str(party) and order.currency == "EUR"
    assert order.order_date == dt.date(2025, 3, 1)
    assert [(line.line_no, line.description, line.quantity, line.unit_price,
             line.received_quantity) for line in order.lines] == [
        (1, "Chairs", Decimal("10"), Decimal("80.00"), Decimal("10")),
        (2, "Chairs deluxe", Decimal("4"), Decimal("95.50"), Decimal("3")),
    ]


def pay_by_payment_order(reader: TrytonClient, company: int, invoice: int, *,
                         until: str = "succeeded") -> int:
    """Pay through ``account.payment`` as a treasurer would: submit, approve, process (a manual
    payment journal), then succeed. ``until`` stops earlier ("approved", "processing")."""
    journals = reader.search("account.payment.journal", [("process_method", "=", "manual")])
    journal = journals[0] if journals else reader.create("account.payment.journal", [{
        "name": "Manual transfers", "currency": reader.read("company.company", [company],
                                                           ["currency"])[0]["currency"],
        "company": company, "process_method": "manual",
    }])[0]
    row, = reader.read("account.invoice", [invoice], ["party", "lines_to_pay", "total_amount"])
    payment, = reader.create("account.payment", [{
        "company": company, "journal": journal, "kind": "payable", "party": row["party"],
        "line": row["lines_to_pay"][0], "amount": row["total_amount"], "date": dt.date(2025, 4, 1),
    }])
    reader.model("account.payment", "submit", [payment])
    reader.model("account.payment", "approve", [payment])
    if until == "approved":
        return payment
    ctx = {**reader.context, "active_model": "account.payment", "active_id": payment,
           "active_ids": [payment]}
    session, start, _end = reader.call("wizard.account.payment.process.create", ctx)
    try:
        reader.call("wizard.account.payment.process.execute", session, {}, start, ctx)
    finally:
        reader.call("wizard.account.payment.process.delete", session, ctx)
    if until == "processing":
        return payment
    reader.model("account.payment", "succeed", [payment])
    return payment


def test_payment_statuses_reads_a_batch_and_counts_only_succeeded_payment_orders(
    tryton_server, reader
):
    """GIVEN five posted invoices: untouched, paid by the Pay wizard, paid by a succeeded payment
    order, with a payment order still processing, and one approved only
    WHEN their statuses are read in one batch (with an id Tryton does not know)
    THEN only the wizard-paid and succeeded ones are PAID: Tryton's own amount_to_pay is already
    0 for the processing and approved ones, and must not be trusted for "money left"."""
    backend = make_backend(tryton_server)
    company = tryton_server.company_id
    ids = [backend.post_invoice(make_payload()).erp_id for _ in range(5)]
    untouched, wizard, succeeded, processing, approved = ids
    _pay_in_tryton(reader, company, int(wizard), Decimal("482.97"))
    pay_by_payment_order(reader, company, int(succeeded))
    pay_by_payment_order(reader, company, int(processing), until="processing")
    pay_by_payment_order(reader, company, int(approved), until="approved")
    amount_to_pay = {row["id"]: row["amount_to_pay"] for row in reader.read(
        "account.invoice", [int(processing), int(approved)], ["amount_to_pay"])}
    assert set(amount_to_pay.values()) == {Decimal("0.00")}  # why we cannot trust it

    statuses = make_backend(tryton_server).payment_statuses([*ids, "999999"])

    assert statuses == {
        untouched: PaymentStatus.OPEN, wizard: PaymentStatus.PAID,
        succeeded: PaymentStatus.PAID, processing: PaymentStatus.OPEN,
        approved: PaymentStatus.OPEN, "999999": PaymentStatus.UNKNOWN,
    }
    assert backend.payment_status(succeeded) == PaymentStatus.PAID
    assert backend.payment_statuses([]) == {}


def _one_line_payload(quantity: str, unit_price: str, amount: str) -> ErpInvoice:
    net = Decimal(amount)
    tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
    payload = make_payload(lines=(
        ErpInvoiceLine("Licences", Decimal(quantity), Decimal(unit_price), net, Decimal("19")),
    ))
    return ErpInvoice(**{**payload.__dict__, "net_amount": net, "tax_amount": tax,
                         "total_amount": net + tax})


def _lines_of(reader: TrytonClient, erp_id: str) -> list[dict]:
    line_ids = reader.read("account.invoice", [int(erp_id)], ["lines"])[0]["lines"]
    return reader.read("account.invoice.line", line_ids,
                       ["quantity", "unit_price", "amount", "description"])


def test_a_unit_price_with_five_decimals_is_rounded_to_trytons_price_digits(
    tryton_server, reader
):
    """3 x 33.33333 = 100.00: Tryton itself refuses the price (4 digits); the backend posts
    3 x 33.3333, whose amount is the same 100.00."""
    payload = _one_line_payload("3", "33.33333", "100.00")
    raw = TrytonBackend(url=tryton_server.url, database=tryton_server.database,
                        user=tryton_server.user, password=tryton_server.password)
    values = raw.invoice_values(payload)
    values["lines"][0][1][0]["unit_price"] = Decimal("33.33333")
    with pytest.raises(ErpError) as refused:
        reader.create("account.invoice", [values])
    assert refused.value.code == ErpErrorCode.VALIDATION
    assert "digits" in refused.value.message.lower()

    result = make_backend(tryton_server).post_invoice(payload)

    line, = _lines_of(reader, result.erp_id)
    assert (line["quantity"], line["unit_price"], line["amount"]) == (
        3.0, Decimal("33.3333"), Decimal("100.00"))
    row, = reader.read("account.invoice", [int(result.erp_id)],
                       ["state", "untaxed_amount", "total_amount"])
    assert (row["state"], row["untaxed_amount"], row["total_amount"]) == (
        "posted", Decimal("100.00"), Decimal("119.00"))


def test_a_price_whose_rounding_would_change_the_amount_is_booked_as_one_line_amount(
    tryton_server, reader
):
    """10000 x 0.123456 = 1234.56, but 10000 x 0.1235 would be 1235.00: book 1 x 1234.56 and
    keep the original quantity and price in the description."""
    result = make_backend(tryton_server).post_invoice(
        _one_line_payload("10000", "0.123456", "1234.56"))

    line, = _lines_of(reader, result.erp_id)
    assert (line["quantity"], line["unit_price"], line["amount"]) == (
        1.0, Decimal("1234.5600"), Decimal("1234.56"))
    assert line["description"] == "Licences (10000 × 0.123456)"


def test_fractional_quantities_keep_their_value(tryton_server, reader):
    result = make_backend(tryton_server).post_invoice(
        _one_line_payload("2.5", "19.99", "49.98"))
    line, = _lines_of(reader, result.erp_id)
    assert (line["quantity"], line["unit_price"], line["amount"]) == (
        2.5, Decimal("19.9900"), Decimal("49.98"))


def test_a_refusal_on_records_deleted_meanwhile_names_them():
    """How the race above is told apart: Tryton's duplicate check read a concurrent caller's
    draft that caller deleted, which is not a refusal of our own invoice."""
    from erp_integration.backends.jsonrpc import TrytonUserError

    gone = 'You are trying to read records "16, 17" of "Account Invoice" that don\'t exist.'
    assert TrytonUserError("AccessError", [gone], gone).missing_ids == {16, 17}
    refused = "The invoice date is outside every open fiscal year."
    assert TrytonUserError("UserError", [refused], refused).missing_ids == frozenset()
