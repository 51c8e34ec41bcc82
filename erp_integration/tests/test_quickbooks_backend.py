"""QuickBooksBackend against the QBO stand-in on 127.0.0.1, through real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal

import pytest

from erp_integration.backends.base import ErpError, ErpErrorCode, ErpVendor, PaymentStatus
from erp_integration.backends.quickbooks import MAX_REQUEST_ID, QuickBooksBackend, request_id_for
from erp_integration.tests.fixtures_stubs import make_invoice
from tests.servers.quickbooks_stub import QuickBooksStub


@pytest.fixture
def qbo_stub() -> Iterator[QuickBooksStub]:
    with QuickBooksStub() as stub:
        yield stub


def backend_for(stub: QuickBooksStub, **overrides) -> QuickBooksBackend:
    options = {"base_url": stub.base_url, "realm_id": stub.realm_id,
               "access_token": stub.access_token, "expense_account_id": "7", "timeout": 5}
    options.update(overrides)
    return QuickBooksBackend(**options)


def bill_posts(stub: QuickBooksStub) -> list:
    return [r for r in stub.requests if r.method == "POST" and r.path.endswith("/bill")]


def test_post_creates_one_bill_with_vendor_lines_tax_and_marker(qbo_stub):
    result = backend_for(qbo_stub).post_invoice(make_invoice())

    assert len(qbo_stub.bills) == 1
    bill = qbo_stub.bills[result.erp_id]
    assert result.erp_number == "INV-2026-001" and not result.already_existed
    assert qbo_stub.vendors[bill["VendorRef"]["value"]]["DisplayName"] == "Büro Müller GmbH"
    assert [line["Amount"] for line in bill["Line"]] == [
        Decimal("100.00"), Decimal("23.50"), Decimal("23.47")]
    assert bill["TotalAmt"] == Decimal("146.97")
    assert bill["CurrencyRef"] == {"value": "EUR"}
    assert bill["TxnDate"] == "2026-03-02" and bill["DueDate"] == "2026-04-01"
    assert "[ap:posting-1]" in bill["PrivateNote"]
    request_id = bill_posts(qbo_stub)[0].query["requestid"]
    assert request_id == request_id_for("posting-1") and len(request_id) <= MAX_REQUEST_ID


def test_amounts_travel_as_exact_json_numbers(qbo_stub):
    backend_for(qbo_stub).post_invoice(make_invoice())

    lines = bill_posts(qbo_stub)[0].body["Line"]
    assert all(isinstance(line["Amount"], Decimal) for line in lines)


def test_retry_with_same_key_finds_the_bill_instead_of_creating_another(qbo_stub):
    backend = backend_for(qbo_stub)
    first = backend.post_invoice(make_invoice())
    second = backend.post_invoice(make_invoice())

    assert second.erp_id == first.erp_id and second.already_existed
    assert len(qbo_stub.bills) == 1 and len(bill_posts(qbo_stub)) == 1


def test_invoice_without_number_is_deduplicated_by_requestid(qbo_stub):
    """GIVEN an invoice with no number (find_invoice cannot search) WHEN posted twice
    THEN QBO's requestid replay returns the first Bill and no second one exists."""
    backend = backend_for(qbo_stub)
    invoice = make_invoice(number="")
    first = backend.post_invoice(invoice)
    second = backend.post_invoice(invoice)

    assert len(bill_posts(qbo_stub)) == 2
    assert second.erp_id == first.erp_id and len(qbo_stub.bills) == 1


def test_timeout_after_commit_then_retry_creates_one_bill(qbo_stub):
    """GIVEN QBO commits the Bill but answers after our timeout WHEN we retry
    THEN the retry finds that Bill and the company holds exactly one."""
    backend = backend_for(qbo_stub, timeout=1.0)
    qbo_stub.slow_next(3.0, on="POST /bill")
    with pytest.raises(ErpError) as excinfo:
        backend.post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.TIMEOUT and excinfo.value.retryable
    assert len(qbo_stub.bills) == 1  # the ERP did the work although we timed out

    result = backend.post_invoice(make_invoice())
    assert result.already_existed and len(qbo_stub.bills) == 1
    assert len(bill_posts(qbo_stub)) == 1


def test_timeout_then_retry_of_numberless_invoice_is_saved_by_requestid(qbo_stub):
    backend = backend_for(qbo_stub, timeout=1.0)
    qbo_stub.slow_next(3.0, on="POST /bill")
    with pytest.raises(ErpError):
        backend.post_invoice(make_invoice(number=""))
    first_id = next(iter(qbo_stub.bills))

    result = backend.post_invoice(make_invoice(number=""))
    assert result.erp_id == first_id and len(qbo_stub.bills) == 1


def test_dropped_connection_after_commit_then_retry_creates_one_bill(qbo_stub):
    backend = backend_for(qbo_stub)
    qbo_stub.drop_next(on="POST /bill")
    with pytest.raises(ErpError) as excinfo:
        backend.post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.TIMEOUT
    assert len(qbo_stub.bills) == 1

    assert backend.post_invoice(make_invoice()).already_existed
    assert len(qbo_stub.bills) == 1


def test_rate_limit_maps_to_rate_limited_with_retry_after(qbo_stub):
    qbo_stub.rate_limit_next(retry_after=11)
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub).post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.RATE_LIMITED
    assert excinfo.value.retry_after == 11 and excinfo.value.retryable
    assert "ThrottleExceeded" in excinfo.value.message
    assert not qbo_stub.bills


def test_server_error_maps_to_unavailable(qbo_stub):
    qbo_stub.fail_next(1, status=500)
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub).post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.UNAVAILABLE and excinfo.value.retryable
    assert "System Failure Error" in excinfo.value.message


def test_wrong_token_maps_to_auth(qbo_stub):
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub, access_token="expired").post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.AUTH and not excinfo.value.retryable
    assert "AuthenticationFailed" in excinfo.value.message


def test_wrong_realm_maps_to_auth(qbo_stub):
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub, realm_id="123").sync_vendors()
    assert excinfo.value.code == ErpErrorCode.AUTH


def test_validation_error_carries_quickbooks_message(qbo_stub):
    invoice = make_invoice(account_code="999")
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub).post_invoice(invoice)
    assert excinfo.value.code == ErpErrorCode.VALIDATION and not excinfo.value.retryable
    assert "Select an expense account for line 1" in excinfo.value.message
    assert "code 6000" in excinfo.value.message
    assert not qbo_stub.bills


def test_connection_refused_maps_to_unavailable():
    stub = QuickBooksStub().start()
    backend = backend_for(stub)
    stub.stop()
    with pytest.raises(ErpError) as excinfo:
        backend.post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.UNAVAILABLE
    assert isinstance(excinfo.value.__cause__, Exception)


def test_bill_keyed_by_hand_with_same_number_is_a_conflict_not_a_duplicate(qbo_stub):
    vendor_id = qbo_stub.add_vendor("Büro Müller GmbH")
    qbo_stub.bills["1"] = {"Id": "1", "DocNumber": "INV-2026-001",
                           "VendorRef": {"value": vendor_id}, "Line": [],
                           "TotalAmt": Decimal("146.97"), "Balance": Decimal("146.97")}
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub).post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.CONFLICT
    assert len(qbo_stub.bills) == 1


def test_same_number_from_another_vendor_is_not_a_match(qbo_stub):
    other = qbo_stub.add_vendor("Someone Else Ltd")
    qbo_stub.bills["1"] = {"Id": "1", "DocNumber": "INV-2026-001", "VendorRef": {"value": other},
                           "Line": [], "TotalAmt": Decimal(1), "Balance": Decimal(1)}
    result = backend_for(qbo_stub).post_invoice(make_invoice())
    assert not result.already_existed and len(qbo_stub.bills) == 2


def test_existing_vendor_is_reused_even_with_a_quote_in_its_name(qbo_stub):
    vendor_id = qbo_stub.add_vendor("O'Brien & Sons")
    invoice = make_invoice(vendor=ErpVendor(name="O'Brien & Sons"))
    result = backend_for(qbo_stub).post_invoice(invoice)
    assert qbo_stub.bills[result.erp_id]["VendorRef"]["value"] == vendor_id
    assert len(qbo_stub.vendors) == 1


def test_totals_that_do_not_add_up_are_refused_before_sending(qbo_stub):
    invoice = dataclasses.replace(make_invoice(), total_amount=Decimal("150.00"))
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub).post_invoice(invoice)
    assert excinfo.value.code == ErpErrorCode.VALIDATION
    assert not bill_posts(qbo_stub)


def test_sync_vendors_follows_pages_and_skips_inactive(qbo_stub):
    for i in range(5):
        qbo_stub.add_vendor(f"Vendor {i}", email=f"v{i}@example.com", tax_id=f"DE12345678{i}")
    qbo_stub.add_vendor("Retired Ltd", active=False)

    vendors = backend_for(qbo_stub, page_size=2).sync_vendors()

    assert [v.name for v in vendors] == [f"Vendor {i}" for i in range(5)]
    assert vendors[0].email == "v0@example.com" and vendors[0].tax_id.endswith("6780")
    assert all(v.erp_id for v in vendors)
    queries = [r.query["query"] for r in qbo_stub.requests if r.path.endswith("/query")]
    assert len(queries) == 3 and "STARTPOSITION 5" in queries[-1]


def test_sync_purchase_orders_returns_open_orders_with_decimal_lines(qbo_stub):
    vendor_id = qbo_stub.add_vendor("Acme Supplies")
    qbo_stub.add_purchase_order(vendor_id=vendor_id, doc_number="PO-1001", lines=[
        {"description": "Toner", "qty": "4", "unit_price": "59.90"},
        {"description": "Drum", "qty": "1", "unit_price": "120.00"}])
    qbo_stub.add_purchase_order(vendor_id=vendor_id, doc_number="PO-0999", status="Closed",
                                lines=[{"description": "Old", "qty": 1, "unit_price": 1}])

    orders = backend_for(qbo_stub).sync_purchase_orders()

    assert [o.number for o in orders] == ["PO-1001"]
    order = orders[0]
    assert order.vendor_erp_id == vendor_id and order.currency == "USD"
    assert order.order_date.isoformat() == "2026-01-10"
    assert [(ln.line_no, ln.description, ln.quantity, ln.unit_price) for ln in order.lines] == [
        (1, "Toner", Decimal(4), Decimal("59.90")), (2, "Drum", Decimal(1), Decimal("120.00"))]


def test_payment_status_follows_the_bill_balance(qbo_stub):
    backend = backend_for(qbo_stub)
    bill_id = backend.post_invoice(make_invoice()).erp_id
    assert backend.payment_status(bill_id) == PaymentStatus.OPEN
    qbo_stub.pay_bill(bill_id, Decimal("100.00"))
    assert backend.payment_status(bill_id) == PaymentStatus.PARTIALLY_PAID
    qbo_stub.pay_bill(bill_id, Decimal("46.97"))
    assert backend.payment_status(bill_id) == PaymentStatus.PAID


def test_unknown_bill_id_is_a_validation_error(qbo_stub):
    with pytest.raises(ErpError) as excinfo:
        backend_for(qbo_stub).payment_status("424242")
    assert excinfo.value.code == ErpErrorCode.VALIDATION and "Object Not Found" in str(
        excinfo.value)


def test_settings_are_read_when_the_backend_is_created(qbo_stub, settings):
    settings.QBO_BASE_URL = qbo_stub.base_url
    settings.QBO_REALM_ID = qbo_stub.realm_id
    settings.QBO_ACCESS_TOKEN = qbo_stub.access_token
    settings.QBO_EXPENSE_ACCOUNT_ID = "8"

    result = QuickBooksBackend().post_invoice(make_invoice())

    assert qbo_stub.bills[result.erp_id]["Line"][0]["AccountBasedExpenseLineDetail"] == {
        "AccountRef": {"value": "8"}}


def test_missing_configuration_is_reported_without_a_request(settings):
    settings.QBO_REALM_ID = ""
    settings.QBO_ACCESS_TOKEN = ""
    with pytest.raises(ErpError) as excinfo:
        QuickBooksBackend(base_url="http://127.0.0.1:9").sync_vendors()
    assert excinfo.value.code == ErpErrorCode.NOT_CONFIGURED


def test_long_or_unsafe_keys_give_a_stable_requestid_within_50_chars():
    long_key = "invoice/42/attempt-series/" + "x" * 60
    assert request_id_for(long_key) == request_id_for(long_key)
    assert len(request_id_for(long_key)) <= MAX_REQUEST_ID
    assert request_id_for(long_key) != request_id_for(long_key + "y")


def test_stand_in_enforces_quickbooks_wire_rules(qbo_stub):
    """The stand-in itself must refuse what QBO refuses, or the tests above prove little."""
    import requests

    base = f"{qbo_stub.base_url}/v3/company/{qbo_stub.realm_id}"
    auth = {"Authorization": f"Bearer {qbo_stub.access_token}"}
    vendor_id = qbo_stub.add_vendor("Acme")
    bill = {"VendorRef": {"value": vendor_id}, "Line": [
        {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 5,
         "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}}}]}
    too_long = requests.post(f"{base}/bill", params={"requestid": "r" * 51}, json=bill,
                             headers=auth, timeout=5)
    assert too_long.status_code == 400 and too_long.json()["Fault"]["Error"][0]["code"] == "2010"
    no_lines = requests.post(f"{base}/bill", json={"VendorRef": {"value": vendor_id}},
                             headers=auth, timeout=5)
    assert no_lines.status_code == 400 and "Line is missing" in no_lines.text
    bad_type = requests.post(f"{base}/bill", json={**bill, "Line": [
        {"DetailType": "SalesItemLineDetail", "Amount": 5}]}, headers=auth, timeout=5)
    assert bad_type.json()["Fault"]["type"] == "ValidationFault"
    assert bad_type.json()["Fault"]["Error"][0]["code"] == "6000"
    bad_query = requests.get(f"{base}/query", params={"query": "delete from Bill"},
                             headers=auth, timeout=5)
    assert bad_query.status_code == 400
    replay = [requests.post(f"{base}/bill", params={"requestid": "same"}, json=bill,
                            headers=auth, timeout=5).json()["Bill"]["Id"] for _ in range(2)]
    assert replay[0] == replay[1] and len(qbo_stub.bills) == 1


def test_registry_builds_the_quickbooks_backend_from_settings(qbo_stub, settings):
    from erp_integration.backends import get_backend

    settings.AP_ERP_BACKEND = "quickbooks"
    settings.QBO_BASE_URL = qbo_stub.base_url
    settings.QBO_REALM_ID = qbo_stub.realm_id
    settings.QBO_ACCESS_TOKEN = qbo_stub.access_token
    settings.QBO_EXPENSE_ACCOUNT_ID = "7"

    backend = get_backend()

    assert isinstance(backend, QuickBooksBackend)
    assert backend.post_invoice(make_invoice()).erp_id in qbo_stub.bills
