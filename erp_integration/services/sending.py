"""Sending outbox rows to the ERP exactly once.

Guarantees:
- A posting is claimed with one conditional UPDATE (pending/failed, or sending whose lease ran
  out → sending, attempts + 1, lease). Two workers racing for one posting: one wins, the other
  sends nothing.
- The ERP call happens outside any database transaction; the backend looks the idempotency key
  up in the ERP before it creates anything. A worker killed after the ERP created the invoice
  but before our commit leaves the posting ``sending``; when its lease expires the retry task
  sends again, the backend finds the ERP document, and we record it: one ERP invoice.
- The lease is longer than any backend timeout, so a slow ERP call is never sent twice in
  parallel.
- Failures keep the posting ``failed`` with the ERP's code and message; retryable ones are
  retried with exponential back-off by ``erp_postings_retry_due``; nothing is deleted.
- Every attempt that ends (posted, found, failed) appends one ``ErpPostingAttempt`` row, with the
  ERP's own message, in the transaction that records the outcome on the posting.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from apinvoices.exceptions import ApplicationError
from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.states import invoice_transition, locked_transition
from erp_integration.backends import forget_worker_backend, worker_backend
from erp_integration.backends.base import (
    ErpError,
    ErpInvoice,
    ErpInvoiceLine,
    ErpPostResult,
    ErpVendor,
)
from erp_integration.models import ErpPosting, ErpPostingAttempt
from erp_integration.states import ERP_POSTING_MACHINE

logger = logging.getLogger(__name__)
P = ErpPosting.State

def send_lease() -> timedelta:
    """While a worker sends, nobody else may (``AP_ERP_SEND_LEASE_SECONDS``). It MUST be longer
    than any backend's HTTP timeout; it is also how long a posting whose worker was killed waits
    before it is sent again."""
    return timedelta(seconds=settings.AP_ERP_SEND_LEASE_SECONDS)
# Back-off after the n-th failed attempt: 1, 2, 4, ... minutes, at most 6 hours.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
MAX_AUTOMATIC_ATTEMPTS = 12


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _trim(value: Decimal) -> Decimal:
    """The same number without trailing zeros: ``100.000000`` → ``100``, ``1.2500`` → ``1.25``.

    Our columns store 6 places; ERPs validate digits (Tryton: unit price at most 4 places) and
    would refuse ``100.000000`` although nothing is lost by dropping the zeros.
    """
    value = Decimal(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def erp_payload_for(invoice: Invoice, *, idempotency_key: str) -> ErpInvoice:
    """The plain value the backends take: everything the ERP needs, nothing Django."""
    vendor = invoice.vendor
    lines = tuple(
        ErpInvoiceLine(
            description=line.description or invoice.invoice_number,
            quantity=_trim(line.quantity if line.quantity is not None else 1),
            unit_price=_trim(line.unit_price if line.unit_price is not None else (line.amount or 0)),
            amount=line.amount if line.amount is not None else 0,
            tax_rate=line.tax_rate,
            account_code=line.gl_account or invoice.gl_account,
        )
        for line in invoice.lines.all()
    )
    return ErpInvoice(
        idempotency_key=idempotency_key,
        vendor=ErpVendor(
            name=vendor.name if vendor else invoice.vendor_name,
            tax_id=vendor.tax_id if vendor else invoice.vendor_tax_id,
            iban=invoice.vendor_iban,
            bic=invoice.vendor_bic,
            country=vendor.country if vendor else "",
            email=vendor.email if vendor else "",
            erp_id=vendor.erp_id if vendor else "",
        ),
        invoice_number=invoice.invoice_number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        net_amount=invoice.net_amount if invoice.net_amount is not None else invoice.total_amount,
        tax_amount=invoice.tax_amount if invoice.tax_amount is not None else 0,
        total_amount=invoice.total_amount,
        lines=lines,
        po_number=invoice.po_number,
        is_credit_note=invoice.is_credit_note,
        description=f"{invoice.vendor_name} {invoice.invoice_number}".strip(),
    )


def _claim(posting_id: int) -> bool:
    now = timezone.now()
    claimable = Q(state__in=[P.PENDING, P.FAILED]) | Q(state=P.SENDING, next_attempt_at__lt=now)
    return bool(
        ErpPosting.objects.filter(claimable, pk=posting_id).update(
            state=P.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + send_lease(), updated_at=now
        )
    )


def erp_posting_send(*, posting_id: int, backend=None) -> ErpPosting:
    """Send one posting if nobody else is; record the outcome. Never raises for ERP errors."""
    started = timezone.now()
    if not _claim(posting_id):
        return ErpPosting.objects.get(pk=posting_id)
    posting = ErpPosting.objects.select_related("invoice__vendor").get(pk=posting_id)
    try:
        backend = backend or worker_backend(posting.backend)
        payload = erp_payload_for(posting.invoice, idempotency_key=posting.idempotency_key)
        result = backend.post_invoice(payload)
    except ErpError as err:
        forget_worker_backend(posting.backend)  # the next attempt logs in and reads the ERP afresh
        return _record_failure(posting, code=str(err.code), message=err.message, retryable=err.retryable,
                               retry_after=err.retry_after, started=started)
    except Exception as err:  # a bug must not leave the posting claimed for the whole lease
        logger.exception("posting %s crashed", posting_id)
        forget_worker_backend(posting.backend)
        return _record_failure(posting, code="internal_error", message=f"{type(err).__name__}: {err}",
                               retryable=False, retry_after=None, started=started)
    return _record_success(posting, result, started=started)


@transaction.atomic
def _record_success(posting: ErpPosting, result: ErpPostResult, *, started) -> ErpPosting:
    posting, _previous = locked_transition(
        machine=ERP_POSTING_MACHINE, instance=posting, target=P.POSTED,
        extra_updates={
            "erp_id": result.erp_id, "erp_number": result.erp_number, "posted_at": timezone.now(),
            "next_attempt_at": None, "last_error": "", "last_error_code": "",
        },
    )
    ErpPostingAttempt.objects.create(
        posting=posting, number=posting.attempts, started_at=started,
        outcome=ErpPostingAttempt.Outcome.FOUND if result.already_existed else ErpPostingAttempt.Outcome.POSTED,
        erp_id=result.erp_id, erp_number=result.erp_number,
    )
    how = "found already in" if result.already_existed else "posted to"
    invoice = posting.invoice
    if invoice.state == Invoice.State.APPROVED:
        invoice_transition(
            invoice=invoice, to=Invoice.State.POSTED, source=f"erp:{posting.backend}",
            reason=f"{how.capitalize()} {posting.backend} as {result.erp_number or result.erp_id}.",
            params={"posting_id": posting.pk, "erp_id": result.erp_id, "already_existed": result.already_existed},
        )
    else:
        InvoiceEvent.objects.create(
            invoice=invoice, kind=InvoiceEvent.Kind.POSTING, source=f"erp:{posting.backend}",
            message=f"{how.capitalize()} {posting.backend} as {result.erp_number or result.erp_id}.",
            params={"posting_id": posting.pk},
        )
    return posting


@transaction.atomic
def _record_failure(posting, *, code: str, message: str, retryable: bool, retry_after, started) -> ErpPosting:
    current = ErpPosting.objects.select_for_update().get(pk=posting.pk)
    automatic = retryable and current.attempts < MAX_AUTOMATIC_ATTEMPTS
    delay = timedelta(seconds=retry_after) if retry_after else backoff(current.attempts)
    current, _previous = locked_transition(
        machine=ERP_POSTING_MACHINE, instance=current, target=P.FAILED,
        extra_updates={
            "last_error_code": code[:32], "last_error": message,
            "next_attempt_at": timezone.now() + delay if automatic else None,
        },
    )
    ErpPostingAttempt.objects.create(
        posting=current, number=current.attempts, started_at=started,
        outcome=ErpPostingAttempt.Outcome.FAILED, error_code=code[:32], error_message=message,
        retry_at=current.next_attempt_at,
    )
    advice = (
        f"Retrying automatically in {int(delay.total_seconds() // 60) or 1} min."
        if automatic else "Fix the cause, then press Retry on the ERP postings page."
    )
    InvoiceEvent.objects.create(
        invoice_id=current.invoice_id, kind=InvoiceEvent.Kind.POSTING, source=f"erp:{current.backend}",
        message=f"Posting failed ({code}): {message} {advice}",
        params={"posting_id": current.pk, "code": code, "attempt": current.attempts},
    )
    return current


def requeue_after() -> timedelta:
    """How long a queued send may wait before the sweep queues it again: the broker's own
    ``retry`` (after which it re-delivers a task a dead worker had taken). A posting still
    waiting after that was never queued (a process killed between commit and enqueue) or its
    task was lost; before that, queueing again only adds no-op tasks behind a backlog."""
    return timedelta(seconds=settings.Q_CLUSTER.get("retry", 60))


def erp_postings_retry_due() -> int:
    """Queue every posting whose time has come: failed and retryable with its back-off over,
    pending longer than ``requeue_after()``, or sending with its lease run out (the worker died).
    Returns how many were queued.

    Queueing moves a pending or failed posting's ``next_attempt_at`` on by ``requeue_after()``
    in the same transaction as the task row (ORM broker), so a backlog is queued once per
    interval, not once per sweep.
    """
    now = timezone.now()
    waiting = (
        Q(state__in=[P.PENDING, P.FAILED], next_attempt_at__lte=now)
        # Rows created before pending postings carried a re-queue time.
        | Q(state=P.PENDING, next_attempt_at__isnull=True, created_at__lt=now - timedelta(minutes=1))
    )
    with transaction.atomic():
        due = list(
            ErpPosting.objects.filter(waiting | Q(state=P.SENDING, next_attempt_at__lt=now))
            .order_by("pk").values_list("pk", flat=True)
        )
        ErpPosting.objects.filter(waiting, pk__in=due).update(next_attempt_at=now + requeue_after())
        for posting_id in due:
            async_task("erp_integration.tasks.send_posting", posting_id, task_name=f"erp-post-{posting_id}")
    return len(due)


def erp_posting_retry(*, posting: ErpPosting, actor) -> ErpPosting:
    """A person's "Retry" on a failed posting: send it again now."""
    if posting.state != P.FAILED:
        raise ApplicationError(f"Only failed postings can be retried; this one is {posting.get_state_display().lower()}.")
    with transaction.atomic():
        ErpPosting.objects.filter(pk=posting.pk, state=P.FAILED).update(next_attempt_at=timezone.now())
        InvoiceEvent.objects.create(
            invoice_id=posting.invoice_id, kind=InvoiceEvent.Kind.POSTING, actor=actor,
            message="Posting retried by hand.", params={"posting_id": posting.pk},
        )
        transaction.on_commit(lambda: async_task("erp_integration.tasks.send_posting", posting.pk))
    return posting

