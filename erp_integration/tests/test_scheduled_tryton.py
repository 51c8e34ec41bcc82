"""The scheduled ERP tasks against a REAL trytond: master-data sync, and paid status read back."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apinvoices.models import GoodsReceipt, Invoice, InvoiceEvent, PurchaseOrder, Vendor, VendorBankAccount
from apinvoices.tests.factories import (
    InvoiceFactory,
    InvoiceLineFactory,
    UserFactory,
    VendorBankAccountFactory,
)
from erp_integration import tasks
from erp_integration.backends.jsonrpc import TrytonClient
from erp_integration.models import ErpPosting, Payment, PaymentRun
from erp_integration.services.outbox import posting_idempotency_key
from erp_integration.services.payment_status import erp_payment_status_sync
from erp_integration.services.payments import (
    payment_run_approve,
    payment_run_export,
    payment_run_propose,
)
from erp_integration.services.sending import erp_posting_send
from erp_integration.tests.test_tryton_backend import _pay_in_tryton, pay_by_payment_order

pytestmark = [pytest.mark.erp, pytest.mark.django_db]

VENDOR_IBAN = "DE89370400440532013000"


@pytest.fixture
def tryton_settings(settings, tryton_server):
    settings.AP_ERP_BACKEND = "tryton"
    settings.TRYTON_URL = tryton_server.url
    settings.TRYTON_DATABASE = tryton_server.database
    settings.TRYTON_USER = tryton_server.user
    settings.TRYTON_PASSWORD = tryton_server.password
    return settings


@pytest.fixture
def reader(tryton_server) -> TrytonClient:
    client = TrytonClient(url=tryton_server.url, database=tryton_server.database,
                          user=tryton_server.user, password=tryton_server.password)
    client.context = {"company": tryton_server.company_id}
    return client


def posted_in_tryton(**invoice_kw) -> tuple[Invoice, ErpPosting]:
    """An approved invoice sent through the real outbox to Tryton: posted here and there."""
    invoice = InvoiceFactory(state=Invoice.State.APPROVED, **invoice_kw)
    InvoiceLineFactory(invoice=invoice, position=1)
    # Tryton outlives each test's rolled-back database, which hands out the same invoice ids
    # again: a per-test prefix keeps one test from finding another's document by key.
    key = f"{uuid.uuid4().hex[:8]}-{posting_idempotency_key(invoice, 1)}"[:50]
    posting = ErpPosting.objects.create(invoice=invoice, backend="tryton", idempotency_key=key)
    posting = erp_posting_send(posting_id=posting.pk)
    assert posting.state == ErpPosting.State.POSTED, posting.last_error
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.POSTED
    return invoice, posting


def scheduled_in_a_payment_run(invoice: Invoice) -> Payment:
    """Our own payment run exports the bank file: invoice scheduled, payment scheduled."""
    verifier, proposer, approver = (UserFactory() for _ in range(3))
    VendorBankAccountFactory(vendor=invoice.vendor, iban=VENDOR_IBAN,
                             status=VendorBankAccount.Status.VERIFIED, verified_by=verifier,
                             verified_at=timezone.now())
    today = timezone.localdate()
    run = payment_run_propose(
        actor=proposer, name="Tryton week", currency="EUR", due_until=invoice.due_date,
        execution_date=today, debtor_account="DE02120300000000202051",
        file_format=PaymentRun.FileFormat.SEPA_09,
    ).run
    payment_run_export(run=payment_run_approve(run=run, actor=approver), actor=approver)
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.SCHEDULED
    return Payment.objects.get(invoice=invoice)


def test_invoices_paid_in_tryton_become_paid_once_with_a_timeline_entry(
    tryton_settings, tryton_server, reader
):
    """GIVEN three invoices posted to Tryton: one paid there with the Pay wizard, one scheduled
    in our payment run and paid there by a succeeded payment order, one left open
    WHEN the scheduled task runs THEN the first two are paid here (the payment too), each with
    one timeline entry from the system actor erp:tryton, and the open one is untouched
    AND WHEN it runs again THEN nothing changes."""
    wizard_paid, wizard_posting = posted_in_tryton()
    ordered, ordered_posting = posted_in_tryton(vendor_iban=VENDOR_IBAN,
                                                due_date=timezone.localdate() + timedelta(days=3))
    payment = scheduled_in_a_payment_run(ordered)
    still_open, _ = posted_in_tryton()
    company = tryton_server.company_id
    _pay_in_tryton(reader, company, int(wizard_posting.erp_id), Decimal("119.00"))
    pay_by_payment_order(reader, company, int(ordered_posting.erp_id))
    events_before = InvoiceEvent.objects.count()

    summary = tasks.sync_payment_status()

    assert "3 checked, 2 paid" in summary
    states = dict(Invoice.objects.filter(
        pk__in=[wizard_paid.pk, ordered.pk, still_open.pk]).values_list("pk", "state"))
    assert states == {wizard_paid.pk: Invoice.State.PAID, ordered.pk: Invoice.State.PAID,
                      still_open.pk: Invoice.State.POSTED}
    payment.refresh_from_db()
    assert payment.state == Payment.State.PAID and payment.paid_at is not None
    for invoice, posting, was in ((wizard_paid, wizard_posting, Invoice.State.POSTED),
                                  (ordered, ordered_posting, Invoice.State.SCHEDULED)):
        event, = InvoiceEvent.objects.filter(invoice=invoice, to_state=Invoice.State.PAID)
        assert (event.actor_id, event.source, event.from_state) == (None, "erp:tryton", was)
        assert posting.erp_number in event.message
        assert event.params == {"posting_id": posting.pk, "erp_id": posting.erp_id}
    assert InvoiceEvent.objects.count() == events_before + 2

    again = erp_payment_status_sync()

    assert (again.checked, again.paid, again.error) == (1, 0, "")
    assert InvoiceEvent.objects.count() == events_before + 2
    assert Invoice.objects.get(pk=still_open.pk).state == Invoice.State.POSTED


def test_a_tryton_that_is_down_stops_the_run_and_changes_nothing(tryton_settings, tryton_server,
                                                                 reader):
    invoice, posting = posted_in_tryton()
    _pay_in_tryton(reader, tryton_server.company_id, int(posting.erp_id), Decimal("119.00"))
    from tests.servers.tryton import free_port

    tryton_settings.TRYTON_URL = f"http://127.0.0.1:{free_port()}"

    result = erp_payment_status_sync()

    assert result.error.startswith("unavailable:") and result.paid == 0
    assert Invoice.objects.get(pk=invoice.pk).state == Invoice.State.POSTED


def test_scheduled_sync_pulls_a_vendor_and_its_received_po_once(tryton_settings, tryton_server,
                                                                 reader):
    """GIVEN a supplier with a VAT id and a confirmed PO, 3 of 4 chairs received, in Tryton
    WHEN the scheduled sync runs THEN the vendor and the PO with one goods receipt exist here
    AND WHEN it runs again THEN nothing is added."""
    ids = tryton_server.ids
    name = f"Sync Vendor {uuid.uuid4().hex[:6]}"
    party, = reader.create("party.party", [{
        "name": name, "addresses": [("create", [{}])],
        "identifiers": [("create", [{"type": "eu_vat", "code": "DE811908005"}])],
    }])
    address = reader.read("party.party", [party], ["addresses"])[0]["addresses"][0]
    po, = reader.create("purchase.purchase", [{
        "company": ids.company, "party": party, "invoice_address": address,
        "currency": ids.currency, "warehouse": ids.warehouse, "purchase_date": dt.date(2025, 3, 1),
        "lines": [("create", [{"type": "line", "product": ids.product, "quantity": 4.0,
                               "unit": ids.uom_unit, "unit_price": Decimal("95.50"),
                               "description": "Chairs"}])],
    }])
    reader.model("purchase.purchase", "quote", [po])
    reader.model("purchase.purchase", "confirm", [po])
    move, = reader.read("purchase.purchase", [po], ["moves"])[0]["moves"]
    reader.model("stock.move", "write", [move], {"quantity": 3.0})
    reader.model("stock.move", "do", [move])

    tasks.sync_from_erp()

    vendor = Vendor.objects.get(erp_id=str(party))
    assert (vendor.name, vendor.tax_id) == (name, "DE811908005")
    order = PurchaseOrder.objects.get(erp_id=str(po))
    assert order.vendor == vendor
    line, = order.lines.all()
    assert (line.quantity, line.unit_price) == (Decimal("4"), Decimal("95.50"))
    assert [r.quantity for r in GoodsReceipt.objects.filter(po_line=line)] == [Decimal("3")]
    counts = (Vendor.objects.count(), PurchaseOrder.objects.count(), GoodsReceipt.objects.count(),
              VendorBankAccount.objects.count())

    summary = tasks.sync_from_erp()

    assert "0 vendors created, 0 linked" in summary and "0 goods receipts" in summary
    assert counts == (Vendor.objects.count(), PurchaseOrder.objects.count(),
                      GoodsReceipt.objects.count(), VendorBankAccount.objects.count())
