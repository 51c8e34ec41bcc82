"""The payment-status service: batching, query budget, what moves and what does not.

The ERP is a hand-written backend at our seam (``erp_integration.backends``) that answers from a
ledger; the same service against a real Tryton is in ``test_scheduled_tryton.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.tests.factories import InvoiceFactory
from erp_integration.backends.base import (
    ErpBackend,
    ErpError,
    ErpErrorCode,
    ErpInvoice,
    ErpPostResult,
    PaymentStatus,
)
from erp_integration.models import ErpPosting
from erp_integration.services.payment_status import erp_payment_status_sync

pytestmark = pytest.mark.django_db


class LedgerBackend(ErpBackend):
    """Answers payment status from a dict, records each batch it was asked, can be down."""

    name = "tryton"

    def __init__(self, statuses: dict[str, PaymentStatus], *, down: bool = False):
        self.statuses = statuses
        self.down = down
        self.batches: list[list[str]] = []

    def post_invoice(self, payload: ErpInvoice) -> ErpPostResult:
        raise NotImplementedError

    def find_invoice(self, payload: ErpInvoice) -> ErpPostResult | None:
        return None

    def payment_statuses(self, erp_ids: Sequence[str]) -> dict[str, PaymentStatus]:
        if self.down:
            raise ErpError(ErpErrorCode.UNAVAILABLE, "connection refused")
        self.batches.append(list(erp_ids))
        return {i: self.statuses.get(i, PaymentStatus.UNKNOWN) for i in erp_ids}


def posted(erp_id: str, *, state=Invoice.State.POSTED, backend="tryton") -> Invoice:
    invoice = InvoiceFactory(state=state)
    ErpPosting.objects.create(invoice=invoice, backend=backend, state=ErpPosting.State.POSTED,
                              idempotency_key=f"k-{erp_id}-{backend}", erp_id=erp_id,
                              erp_number=f"SI-{erp_id}")
    return invoice


def test_asks_in_batches_and_moves_only_paid_invoices():
    invoices = {str(i): posted(str(i)) for i in range(1, 6)}
    ledger = LedgerBackend({"1": PaymentStatus.PAID, "2": PaymentStatus.PARTIALLY_PAID,
                            "4": PaymentStatus.PAID, "5": PaymentStatus.OPEN})

    result = erp_payment_status_sync(backend=ledger, batch_size=2)

    assert ledger.batches == [["1", "2"], ["3", "4"], ["5"]]
    assert (result.checked, result.paid, result.partially_paid, result.error) == (5, 2, 1, "")
    states = {k: Invoice.objects.get(pk=v.pk).state for k, v in invoices.items()}
    assert states == {"1": "paid", "2": "posted", "3": "posted", "4": "paid", "5": "posted"}
    event = InvoiceEvent.objects.get(invoice=invoices["1"], to_state="paid")
    assert (event.actor, event.source, event.message) == (
        None, "erp:tryton", "Paid according to tryton (document SI-1).")


def test_ignores_other_backends_paid_and_unposted_invoices():
    posted("1", backend="xero")
    posted("2", state=Invoice.State.PAID)
    approved = InvoiceFactory(state=Invoice.State.APPROVED)
    ErpPosting.objects.create(invoice=approved, backend="tryton", idempotency_key="k-failed",
                              state=ErpPosting.State.FAILED)
    ledger = LedgerBackend({"1": PaymentStatus.PAID, "2": PaymentStatus.PAID})

    result = erp_payment_status_sync(backend=ledger)

    assert ledger.batches == [] and result.checked == 0


def test_query_budget_is_one_read_per_batch_plus_ten_per_paid_invoice(django_assert_num_queries):
    """6 candidates in batches of 2: 3 candidate reads + the empty one that ends the loop. Per
    paid invoice 10: two savepoints and their releases (ours and invoice_transition's), the
    invoice locked and read again by auditlog, the auditlog entry, the update, the event, and
    the read of its scheduled payments. Unpaid invoices cost nothing."""
    for i in range(1, 7):
        posted(str(i))
    paid = {str(i): PaymentStatus.PAID for i in (1, 2, 3)}
    with django_assert_num_queries(4 + 10 * 3):
        result = erp_payment_status_sync(backend=LedgerBackend(paid), batch_size=2)
    assert result.paid == 3


def test_an_erp_that_is_down_stops_the_run_and_reports_it():
    invoice = posted("1")
    result = erp_payment_status_sync(backend=LedgerBackend({}, down=True))
    assert (result.checked, result.paid) == (0, 0)
    assert result.error == "unavailable: connection refused"
    assert "Stopped: unavailable" in str(result)
    assert Invoice.objects.get(pk=invoice.pk).state == Invoice.State.POSTED
