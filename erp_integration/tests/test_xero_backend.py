"""XeroBackend against the Xero stand-in on 127.0.0.1, through real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal

import pytest

from erp_integration.backends.base import ErpError, ErpErrorCode, ErpVendor, PaymentStatus
from erp_integration.backends.xero import XeroBackend, allocate_tax
from erp_integration.tests.fixtures_stubs import make_invoice
from tests.servers.xero_stub import PAGE_SIZE, XeroStub


@pytest.fixture
def xero_stub() -> Iterator[XeroStub]:
    with XeroStub() as stub:
        yield stub


def backend_for(stub: XeroStub, **overrides) -> XeroBackend:
    options = {"base_url": f"{stub.base_url}/api.xro/2.0", "tenant_id": stub.tenant_id,
               "access_token": stub.access_token, "account_code": "429",
               "source_base_url": "https://ap.example.com", "timeout": 5}
    options.update(overrides)
    return XeroBackend(**options)


def invoice_puts(stub: XeroStub) -> list:
    return [r for r in stub.requests if r.method == "PUT" and r.path.endswith("/Invoices")]


def test_post_creates_one_authorised_bill_with_tax_and_key(xero_stub):
    result = backend_for(xero_stub).post_invoice(make_invoice())

    assert len(xero_stub.invoices) == 1 and not result.already_existed
    bill = xero_stub.invoices[result.erp_id]
    assert bill["Type"] == "ACCPAY" and bill["Status"] == "AUTHORISED"
    assert bill["InvoiceNumber"] == "INV-2026-001" and result.erp_number == "INV-2026-001"
    assert bill["Contact"]["Name"] == "Büro Müller GmbH"
    assert bill["SubTotal"] == Decimal("123.50") and bill["TotalTax"] == Decimal("23.47")
    assert bill["Total"] == Decimal("146.97") and bill["AmountDue"] == Decimal("146.97")
    assert bill["CurrencyCode"] == "EUR" and bill["DueDateString"].startswith("2026-04-01")
    assert bill["Url"] == "https://ap.example.com/erp/postings/key/posting-1"
    put = invoice_puts(xero_stub)[0]
    assert put.headers["idempotency-key"] == "posting-1"
    assert put.headers["xero-tenant-id"] == xero_stub.tenant_id


def test_retry_with_same_key_finds_the_bill_instead_of_creating_another(xero_stub):
    backend = backend_for(xero_stub)
    first = backend.post_invoice(make_invoice())
    second = backend.post_invoice(make_invoice())

    assert second.erp_id == first.erp_id and second.already_existed
    assert len(xero_stub.invoices) == 1 and len(invoice_puts(xero_stub)) == 1
    assert len(xero_stub.contacts) == 1


def test_invoice_without_number_is_deduplicated_by_idempotency_key(xero_stub):
    backend = backend_for(xero_stub)
    first = backend.post_invoice(make_invoice(number=""))
    second = backend.post_invoice(make_invoice(number=""))

    assert len(invoice_puts(xero_stub)) == 2
    assert second.erp_id == first.erp_id and len(xero_stub.invoices) == 1


def test_timeout_after_commit_then_retry_creates_one_bill(xero_stub):
    """GIVEN Xero commits the bill but answers after our timeout WHEN we retry
    THEN the retry finds it by contact + number + Url and Xero holds exactly one."""
    backend = backend_for(xero_stub, timeout=1.0)
    xero_stub.slow_next(3.0, on="PUT /Invoices")
    with pytest.raises(ErpError) as excinfo:
        backend.post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.TIMEOUT and excinfo.value.retryable
    assert len(xero_stub.invoices) == 1

    result = backend.post_invoice(make_invoice())
    assert result.already_existed and len(xero_stub.invoices) == 1
    assert len(invoice_puts(xero_stub)) == 1


def test_dropped_connection_then_retry_of_numberless_bill_is_saved_by_idempotency_key(xero_stub):
    backend = backend_for(xero_stub)
    xero_stub.drop_next(on="PUT /Invoices")
    with pytest.raises(ErpError) as excinfo:
        backend.post_invoice(make_invoice(number=""))
    assert excinfo.value.code == ErpErrorCode.TIMEOUT
    first_id = next(iter(xero_stub.invoices))

    assert backend.post_invoice(make_invoice(number="")).erp_id == first_id
    assert len(xero_stub.invoices) == 1


def test_rate_limit_maps_to_rate_limited_with_retry_after(xero_stub):
    xero_stub.rate_limit_next(retry_after=42)
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub).post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.RATE_LIMITED
    assert excinfo.value.retry_after == 42 and excinfo.value.retryable
    assert not xero_stub.invoices


def test_server_error_maps_to_unavailable(xero_stub):
    xero_stub.fail_next(1, status=503, on="PUT /Invoices")
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub).post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.UNAVAILABLE
    assert "status.developer.xero.com" in excinfo.value.message
    assert not xero_stub.invoices


def test_wrong_token_maps_to_auth(xero_stub):
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub, access_token="stale").post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.AUTH
    assert "AuthenticationUnsuccessful" in excinfo.value.message


def test_wrong_tenant_maps_to_auth(xero_stub):
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub, tenant_id="00000000-0000-0000-0000-000000000000").sync_vendors()
    assert excinfo.value.code == ErpErrorCode.AUTH


def test_unauthorized_fault_midway_maps_to_auth(xero_stub):
    xero_stub.unauthorized_next(on="PUT /Invoices")
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub).post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.AUTH and not excinfo.value.retryable


def test_validation_error_carries_xero_message(xero_stub):
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub).post_invoice(make_invoice(account_code="999"))
    assert excinfo.value.code == ErpErrorCode.VALIDATION
    assert "Account code '999' is not a valid code for this document." in excinfo.value.message
    assert not xero_stub.invoices


def test_connection_refused_maps_to_unavailable():
    stub = XeroStub().start()
    backend = backend_for(stub)
    stub.stop()
    with pytest.raises(ErpError) as excinfo:
        backend.post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.UNAVAILABLE


def test_bill_keyed_by_hand_with_same_number_is_a_conflict(xero_stub):
    contact_id = xero_stub.add_contact("Büro Müller GmbH")
    xero_stub.invoices["x"] = {"InvoiceID": "x", "Type": "ACCPAY", "Status": "AUTHORISED",
                               "InvoiceNumber": "INV-2026-001", "Url": "",
                               "Contact": {"ContactID": contact_id, "Name": "Büro Müller GmbH"}}
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub).post_invoice(make_invoice())
    assert excinfo.value.code == ErpErrorCode.CONFLICT and len(xero_stub.invoices) == 1


def test_voided_bill_with_same_number_does_not_block_posting(xero_stub):
    contact_id = xero_stub.add_contact("Büro Müller GmbH")
    xero_stub.invoices["x"] = {"InvoiceID": "x", "Type": "ACCPAY", "Status": "VOIDED",
                               "InvoiceNumber": "INV-2026-001", "Url": "",
                               "Contact": {"ContactID": contact_id, "Name": "Büro Müller GmbH"}}
    result = backend_for(xero_stub).post_invoice(make_invoice())
    assert not result.already_existed and len(xero_stub.invoices) == 2


def test_existing_contact_with_quotes_in_its_name_is_reused(xero_stub):
    contact_id = xero_stub.add_contact('The "Best" Paper Co')
    result = backend_for(xero_stub).post_invoice(
        make_invoice(vendor=ErpVendor(name='The "Best" Paper Co')))
    assert xero_stub.invoices[result.erp_id]["Contact"]["ContactID"] == contact_id
    assert len(xero_stub.contacts) == 1


def test_inconsistent_totals_are_refused_before_sending(xero_stub):
    invoice = dataclasses.replace(make_invoice(), tax_amount=Decimal("20.00"))
    with pytest.raises(ErpError) as excinfo:
        backend_for(xero_stub).post_invoice(invoice)
    assert excinfo.value.code == ErpErrorCode.VALIDATION and not invoice_puts(xero_stub)


def test_tax_allocation_sums_exactly():
    parts = allocate_tax([Decimal("100.00"), Decimal("23.50")],
                         [Decimal(19), Decimal(19)], Decimal("23.47"))
    assert parts == [Decimal("19.00"), Decimal("4.47")]
    parts = allocate_tax([Decimal(1), Decimal(1), Decimal(1)], [None, None, None],
                         Decimal("1.00"))
    assert sum(parts) == Decimal("1.00") and parts[:2] == [Decimal("0.33"), Decimal("0.33")]


def test_sync_vendors_pages_and_keeps_active_suppliers(xero_stub):
    for i in range(PAGE_SIZE + 3):
        xero_stub.add_contact(f"Supplier {i:03d}", email=f"s{i}@example.com",
                              bank_account="DE89 3704 0044 0532 0130 00" if i == 0 else "")
    xero_stub.add_contact("A Customer", supplier=False)
    xero_stub.add_contact("Archived Supplier", status="ARCHIVED")

    vendors = backend_for(xero_stub).sync_vendors()

    assert len(vendors) == PAGE_SIZE + 3
    assert {v.name for v in vendors} == {f"Supplier {i:03d}" for i in range(PAGE_SIZE + 3)}
    first = next(v for v in vendors if v.name == "Supplier 000")
    assert first.iban == "DE89370400440532013000" and first.email == "s0@example.com"
    pages = [r.query["page"] for r in xero_stub.requests if r.path.endswith("/Contacts")]
    assert pages == ["1", "2"]


def test_sync_purchase_orders_returns_authorised_orders(xero_stub):
    contact_id = xero_stub.add_contact("Acme Supplies")
    xero_stub.add_purchase_order(contact_id=contact_id, number="PO-0042", lines=[
        {"description": "Toner", "qty": "4", "unit_price": "59.90"}])
    xero_stub.add_purchase_order(contact_id=contact_id, number="PO-0041", status="BILLED",
                                 lines=[{"description": "Old", "qty": 1, "unit_price": 1}])

    orders = backend_for(xero_stub).sync_purchase_orders()

    assert [o.number for o in orders] == ["PO-0042"]
    assert orders[0].vendor_erp_id == contact_id and orders[0].currency == "NZD"
    assert orders[0].order_date.isoformat() == "2026-02-01"
    line = orders[0].lines[0]
    assert (line.line_no, line.quantity, line.unit_price) == (1, Decimal(4), Decimal("59.90"))


def test_payment_status_follows_amount_due(xero_stub):
    backend = backend_for(xero_stub)
    invoice_id = backend.post_invoice(make_invoice()).erp_id
    assert backend.payment_status(invoice_id) == PaymentStatus.OPEN
    xero_stub.pay_invoice(invoice_id, Decimal("46.97"))
    assert backend.payment_status(invoice_id) == PaymentStatus.PARTIALLY_PAID
    xero_stub.pay_invoice(invoice_id, Decimal("100.00"))
    assert backend.payment_status(invoice_id) == PaymentStatus.PAID


def test_settings_are_read_when_the_backend_is_created(xero_stub, settings):
    settings.XERO_BASE_URL = f"{xero_stub.base_url}/api.xro/2.0"
    settings.XERO_TENANT_ID = xero_stub.tenant_id
    settings.XERO_ACCESS_TOKEN = xero_stub.access_token
    settings.XERO_ACCOUNT_CODE = "300"
    settings.AP_BASE_URL = "https://ap.test"

    result = XeroBackend().post_invoice(make_invoice())

    bill = xero_stub.invoices[result.erp_id]
    assert {item["AccountCode"] for item in bill["LineItems"]} == {"300"}
    assert bill["Url"].startswith("https://ap.test/")


def test_missing_configuration_is_reported(settings):
    settings.XERO_TENANT_ID = ""
    settings.XERO_ACCESS_TOKEN = ""
    with pytest.raises(ErpError) as excinfo:
        XeroBackend(base_url="http://127.0.0.1:9").sync_vendors()
    assert excinfo.value.code == ErpErrorCode.NOT_CONFIGURED


def test_stand_in_enforces_xero_wire_rules(xero_stub):
    """The stand-in itself must refuse what Xero refuses, or the tests above prove little."""
    import requests

    url = f"{xero_stub.base_url}/api.xro/2.0/Invoices"
    headers = {"Authorization": f"Bearer {xero_stub.access_token}",
               "xero-tenant-id": xero_stub.tenant_id}
    bill = {"Type": "ACCPAY", "Contact": {"Name": "Acme"}, "Date": "2026-03-02",
            "DueDate": "2026-04-01", "Status": "AUTHORISED", "Reference": "ours?",
            "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5,
                           "AccountCode": "429"}]}
    long_key = requests.put(url, json={"Invoices": [bill]}, timeout=5,
                            headers={**headers, "Idempotency-Key": "k" * 129})
    assert long_key.status_code == 400
    no_due = requests.put(url, json={"Invoices": [{**bill, "DueDate": ""}]}, headers=headers,
                          timeout=5)
    assert no_due.status_code == 400 and no_due.json()["Type"] == "ValidationException"
    assert no_due.json()["Elements"][0]["ValidationErrors"][0]["Message"] == "Due Date is required."
    no_tenant = requests.get(url, headers={"Authorization": headers["Authorization"]}, timeout=5)
    assert no_tenant.status_code == 403
    created = requests.put(url, json={"Invoices": [bill]}, headers=headers, timeout=5).json()
    assert "Reference" not in created["Invoices"][0]  # ACCREC only, as in Xero


def test_registry_builds_the_xero_backend_from_settings(xero_stub, settings):
    from erp_integration.backends import get_backend

    settings.AP_ERP_BACKEND = "xero"
    settings.XERO_BASE_URL = f"{xero_stub.base_url}/api.xro/2.0"
    settings.XERO_TENANT_ID = xero_stub.tenant_id
    settings.XERO_ACCESS_TOKEN = xero_stub.access_token
    settings.XERO_ACCOUNT_CODE = "429"

    backend = get_backend()

    assert isinstance(backend, XeroBackend)
    assert backend.post_invoice(make_invoice()).erp_id in xero_stub.invoices
