"""Read paid status back from the ERP and move invoices to paid.

Guarantees:
- Looks only at invoices that are ``posted`` or ``scheduled`` here and have a ``posted`` ERP
  posting of the configured backend (its ``erp_id`` is what the ERP is asked about), in batches of
  ``PAYMENT_STATUS_BATCH`` ids per ERP call, oldest posting first.
- An invoice the ERP reports PAID moves to ``paid`` through the invoice state machine (one
  transaction per invoice: row lock, transition check, ``InvoiceEvent`` with the system actor
  ``source="erp:<backend>"``, auditlog history). A payment of ours that is ``scheduled`` for it
  becomes ``paid`` in the same transaction, so a later bank statement (camt.054) finds it paid
  and changes nothing.
- Idempotent: a paid invoice is no longer a candidate, so running again changes nothing. OPEN,
  PARTIALLY_PAID and UNKNOWN change nothing either.
- An ERP failure stops the run (the next scheduled run tries again) and is reported in the
  result; invoices already moved stay moved. An invoice that changed state meanwhile (a
  concurrent camt.054 import) is skipped and counted, never an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apinvoices.exceptions import InvalidTransition
from apinvoices.models import Invoice
from apinvoices.states import invoice_transition, locked_transition
from erp_integration.backends import get_backend
from erp_integration.backends.base import ErpBackend, ErpError, PaymentStatus
from erp_integration.models import ErpPosting, Payment
from erp_integration.states import PAYMENT_MACHINE

logger = logging.getLogger(__name__)

# ERP ids per call: one Tryton read of 200 invoices (plus their payment orders) is two RPCs of
# well under a second; QuickBooks and Xero fall back to one request per id anyway.
PAYMENT_STATUS_BATCH = 200
OPEN_STATES = (Invoice.State.POSTED, Invoice.State.SCHEDULED)


@dataclass
class PaymentStatusResult:
    checked: int = 0
    paid: int = 0
    partially_paid: int = 0
    skipped: int = 0
    error: str = ""
    paid_invoice_ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"Payment status read from the ERP: {self.checked} checked, {self.paid} paid, "
            f"{self.partially_paid} partially paid, {self.skipped} skipped."
        )
        if self.error:
            text += f" Stopped: {self.error}"
        return text


def _candidates(*, backend_name: str, after_pk: int, limit: int) -> list[tuple[int, int, str, str]]:
    return list(
        ErpPosting.objects.filter(
            state=ErpPosting.State.POSTED, backend=backend_name, pk__gt=after_pk,
            invoice__state__in=OPEN_STATES,
        )
        .exclude(erp_id="")
        .order_by("pk")
        .values_list("pk", "invoice_id", "erp_id", "erp_number")[:limit]
    )


@transaction.atomic
def _mark_paid(*, invoice_id: int, posting_id: int, erp_id: str, erp_number: str, backend_name: str) -> None:
    invoice_transition(
        invoice=invoice_id, to=Invoice.State.PAID, source=f"erp:{backend_name}",
        reason=f"Paid according to {backend_name} (document {erp_number or erp_id}).",
        params={"posting_id": posting_id, "erp_id": erp_id},
    )
    for payment in Payment.objects.filter(invoice_id=invoice_id, state=Payment.State.SCHEDULED):
        locked_transition(machine=PAYMENT_MACHINE, instance=payment, target=Payment.State.PAID,
                          extra_updates={"paid_at": timezone.now()})


def erp_payment_status_sync(
    *, backend: ErpBackend | None = None, batch_size: int = PAYMENT_STATUS_BATCH
) -> PaymentStatusResult:
    """Move every invoice the ERP reports paid to ``paid``; see the module guarantees."""
    backend = backend or get_backend()
    result = PaymentStatusResult()
    after_pk = 0
    while True:
        batch = _candidates(backend_name=backend.name, after_pk=after_pk, limit=batch_size)
        if not batch:
            return result
        after_pk = batch[-1][0]
        try:
            statuses = backend.payment_statuses([erp_id for _pk, _inv, erp_id, _num in batch])
        except ErpError as err:
            logger.warning("payment status from %s failed: %s", backend.name, err.message)
            result.error = f"{err.code}: {err.message}"
            return result
        result.checked += len(batch)
        for posting_id, invoice_id, erp_id, erp_number in batch:
            status = statuses.get(erp_id, PaymentStatus.UNKNOWN)
            if status == PaymentStatus.PARTIALLY_PAID:
                result.partially_paid += 1
            if status != PaymentStatus.PAID:
                continue
            try:
                _mark_paid(invoice_id=invoice_id, posting_id=posting_id, erp_id=erp_id,
                           erp_number=erp_number, backend_name=backend.name)
            except InvalidTransition:
                result.skipped += 1  # moved by someone else since we read it
                continue
            result.paid += 1
            result.paid_invoice_ids.append(invoice_id)
