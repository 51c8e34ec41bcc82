"""The ERP outbox: a posting row is created with the last approval; a task sends it."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.queueing import enqueue_with_transaction
from erp_integration.models import ErpPosting
from erp_integration.services.sending import requeue_after


def posting_idempotency_key(invoice: Invoice, attempt_series: int) -> str:
    """Stable key for one invoice's posting series: ``AP-<invoice id>-<series>-<hash>``.

    The hash binds the key to this installation's SECRET_KEY so two installations posting to
    one ERP never collide; the series increases only if a posting was cancelled and redone.
    """
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{invoice.pk}:{attempt_series}".encode()).hexdigest()
    return f"AP-{invoice.pk}-{attempt_series}-{digest[:12]}"


def erp_posting_create(*, invoice: Invoice, actor=None, source: str = "approval") -> ErpPosting:
    """Create the outbox row for an approved invoice and queue its sending after commit.

    MUST be called inside the transaction that approves the invoice, so either both happen or
    neither. Idempotent: an invoice that already has a live posting gets that one back.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("erp_posting_create must run inside the approving transaction")
    live = ErpPosting.objects.filter(invoice=invoice).exclude(state=ErpPosting.State.CANCELLED).first()
    if live is not None:
        return live
    series = ErpPosting.objects.filter(invoice=invoice).count() + 1
    posting = ErpPosting.objects.create(
        invoice=invoice,
        backend=settings.AP_ERP_BACKEND,
        idempotency_key=posting_idempotency_key(invoice, series),
        created_by=actor,
        # Not a retry time: when the sweep queues it again should this send never run.
        next_attempt_at=timezone.now() + requeue_after(),
    )
    InvoiceEvent.objects.create(
        invoice=invoice,
        kind=InvoiceEvent.Kind.POSTING,
        actor=actor,
        source="" if actor else source,
        message=f"Queued for posting to {posting.backend}.",
        params={"posting_id": posting.pk, "key": posting.idempotency_key},
    )
    enqueue_with_transaction("erp_integration.tasks.send_posting", posting.pk, task_name=f"erp-post-{posting.pk}")
    return posting
