"""Sync from the ERP into Vendor / PurchaseOrder, through the real backends and stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import timezone

from apinvoices.models import GoodsReceipt, PurchaseOrder, Vendor, VendorBankAccount
from apinvoices.tests.factories import VendorBankAccountFactory, VendorFactory
from erp_integration.backends.xero import XeroBackend
from erp_integration.services.sync import erp_sync_all, sync_vendors
from tests.servers.xero_stub import XeroStub

pytestmark = pytest.mark.django_db

IBAN_NEW = "DE02120300000000202051"
IBAN_VERIFIED = "DE89370400440532013000"


@pytest.fixture
def xero_stub() -> Iterator[XeroStub]:
    with XeroStub() as stub:
        yield stub


def xero(stub: XeroStub) -> XeroBackend:
    return XeroBackend(base_url=f"{stub.base_url}/api.xro/2.0", tenant_id=stub.tenant_id,
                       access_token=stub.access_token, account_code="429",
                       source_base_url="https://ap.example.com", timeout=5)


def test_vendors_match_by_tax_id_and_new_bank_details_stay_unverified(xero_stub, cast):
    known = VendorFactory(name="Büro Müller GmbH", tax_id="DE129273398")
    verified = VendorBankAccountFactory(vendor=known, iban=IBAN_VERIFIED,
                                        status=VendorBankAccount.Status.VERIFIED, verified_by=cast.admin,
                                        verified_at=timezone.now())
    contact = xero_stub.add_contact("Buero Mueller (ERP spelling)", tax_number="DE 129 273 398",
                                    bank_account=IBAN_NEW)
    fresh = xero_stub.add_contact("Newco Ltd", tax_number="GB123456789")

    result = erp_sync_all(backend=xero(xero_stub))

    known.refresh_from_db()
    assert known.erp_id == contact and known.name == "Büro Müller GmbH"  # ours kept, id linked
    accounts = {a.iban: a for a in known.bank_accounts.all()}
    assert accounts[IBAN_VERIFIED].status == VendorBankAccount.Status.VERIFIED
    assert accounts[IBAN_NEW].status == VendorBankAccount.Status.UNVERIFIED
    assert accounts[IBAN_NEW].source == "ERP sync"
    assert Vendor.objects.get(erp_id=fresh).name == "Newco Ltd"
    assert (result.vendors_linked, result.vendors_created, result.bank_accounts_added) == (1, 1, 1)

    again = sync_vendors(backend=xero(xero_stub))
    assert (again.vendors_linked, again.vendors_created, again.bank_accounts_added) == (0, 0, 0)
    assert Vendor.objects.count() == 2
    verified.refresh_from_db()
    assert verified.status == VendorBankAccount.Status.VERIFIED


def test_open_purchase_orders_are_created_once_with_their_lines(xero_stub):
    contact = xero_stub.add_contact("Acme Supplies", tax_number="DE811907980")
    xero_stub.add_purchase_order(contact_id=contact, number="PO-7001", lines=[
        {"description": "Toner", "qty": "4", "unit_price": "59.90"},
        {"description": "Drum", "qty": "1", "unit_price": "120.00"}])
    xero_stub.add_purchase_order(contact_id=contact, number="PO-6999", status="BILLED",
                                 lines=[{"description": "Old", "qty": "1", "unit_price": "1"}])

    first = erp_sync_all(backend=xero(xero_stub))
    second = erp_sync_all(backend=xero(xero_stub))

    po = PurchaseOrder.objects.get()
    assert po.number == "PO-7001" and po.vendor.erp_id == contact and po.currency == "NZD"
    assert [(ln.line_no, ln.quantity, ln.unit_price) for ln in po.lines.order_by("line_no")] == [
        (1, Decimal("4"), Decimal("59.90")), (2, Decimal("1"), Decimal("120.00"))]
    assert (first.orders_created, second.orders_created, second.orders_updated) == (1, 0, 1)
    # Xero records no receipts: nothing received, nothing invented.
    assert GoodsReceipt.objects.count() == 0


def test_sync_button_reports_what_it_did(client, cast, xero_stub, settings, ):
    xero_stub.add_contact("Button GmbH", tax_number="DE811907980")
    settings.AP_ERP_BACKEND = "xero"
    for name, value in {"XERO_BASE_URL": f"{xero_stub.base_url}/api.xro/2.0",
                        "XERO_TENANT_ID": xero_stub.tenant_id, "XERO_ACCESS_TOKEN": xero_stub.access_token,
                        "XERO_ACCOUNT_CODE": "429"}.items():
        setattr(settings, name, value)
    client.force_login(cast.clerk)
    response = client.post("/erp/sync/", follow=True)
    assert response.status_code == 200
    assert "1 vendors created" in response.content.decode()
    assert Vendor.objects.filter(name="Button GmbH").exists()


@pytest.mark.erp
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the roles for later tests
def test_tryton_suppliers_become_vendors(tryton_server):
    from erp_integration.backends.tryton import TrytonBackend
    from erp_integration.tests.test_tryton_backend import make_payload

    backend = TrytonBackend(url=tryton_server.url, database=tryton_server.database,
                            user=tryton_server.user, password=tryton_server.password)
    payload = make_payload(tax_id="DE 811 907 980")
    backend.post_invoice(payload)

    sync_vendors(backend=backend)

    vendor = Vendor.objects.get(tax_id="DE811907980")
    assert vendor.erp_id and vendor.name == payload.vendor.name
