"""Run the extraction pipeline over an invoice's original and record the outcome."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apinvoices.extraction.errors import ExtractionError, ExtractionErrorCode
from apinvoices.models import Extraction, Invoice
from apinvoices.secrets import decrypt_secret
from apinvoices.services.invoices import invoice_apply_extraction, invoice_evaluate
from apinvoices.services.memory import invoice_apply_vendor_memory
from apinvoices.states import INVOICE_MACHINE, invoice_transition

logger = logging.getLogger(__name__)
S = Invoice.State

PASSWORD_CODES = {ExtractionErrorCode.ENCRYPTED_PDF, ExtractionErrorCode.WRONG_PASSWORD}
WORKER_DIED = "worker_died"


def _abandoned_runs(document) -> int:
    """Mark this document's runs that a dead worker left ``running`` as failed; return how many.

    A run still ``running`` after the task timeout cannot be alive: django-q2's sentinel kills a
    task at its timeout. Such a run was cut off by a kill (timeout, out of memory, SIGKILL, power
    loss), and the broker has handed its task out again: this run is that re-delivery.
    """
    from django.conf import settings

    cutoff = timezone.now() - timedelta(seconds=settings.Q_CLUSTER.get("timeout") or 600)
    return Extraction.objects.filter(
        document=document, status=Extraction.Status.RUNNING, started_at__lt=cutoff
    ).update(
        status=Extraction.Status.FAILED, error_code=WORKER_DIED, finished_at=timezone.now(),
        error_message="The worker stopped while reading this document (time limit, memory, or a restart).",
    )


def max_abandoned_runs() -> int:
    """How many runs cut off by a dead worker a document gets before it is failed for a clerk:
    one fewer than the broker's delivery attempts, so the last delivery ends the invoice in
    ``extraction_failed`` instead of leaving it in ``extracting`` when the broker gives up."""
    from django.conf import settings

    attempts = settings.Q_CLUSTER.get("max_attempts") or 3
    return max(1, attempts - 1)


def invoice_extract(*, invoice_id: int, actor=None, source: str = "task:extract") -> Invoice:
    """Extract the invoice's fields from its original, then check it and move it on.

    Safe to run again (a retry after a crash, or a clerk's "retry" button): the original is
    only read, earlier clerk edits are kept, and the invoice ends in exactly one of
    needs_review / exception / awaiting_approval / password_needed / extraction_failed.
    Never raises for a bad document: the reason is stored on the Extraction and the invoice.
    """
    invoice = Invoice.objects.select_related("document").get(pk=invoice_id)
    if invoice.state != S.EXTRACTING:
        invoice = invoice_transition(
            invoice=invoice, to=S.EXTRACTING, actor=actor, source=source, reason="Reading the document."
        )
    document = invoice.document
    abandoned = _abandoned_runs(document)
    extraction = Extraction.objects.create(document=document)
    started = time.monotonic()
    if abandoned >= max_abandoned_runs():
        return _fail(
            invoice, extraction, started, code=WORKER_DIED, actor=actor, source=source,
            message=(
                f"Reading this document stopped the worker {abandoned} times (it ran out of time or "
                "memory). The original is kept: retry when the system is less busy, or enter the "
                "fields by hand."
            ),
        )
    try:
        with document.file.open("rb") as fh:
            data = fh.read()
        from apinvoices.extraction.pipeline import extract_document

        result = extract_document(
            data,
            filename=document.original_filename,
            password=decrypt_secret(document.password_ciphertext),
        )
    except ExtractionError as err:
        return _fail(invoice, extraction, started, code=str(err.code), message=err.message, actor=actor, source=source)
    except Exception as err:  # a bug or an unexpected library failure must not lose the invoice
        logger.exception("extraction of invoice %s crashed", invoice_id)
        return _fail(
            invoice,
            extraction,
            started,
            code="internal_error",
            message=(
                "The document could not be read because of an internal error "
                f"({type(err).__name__}). The original is kept: retry, or enter the fields by hand."
            ),
            actor=actor,
            source=source,
        )

    from apinvoices.extraction.serialize import invoice_to_dict

    with transaction.atomic():
        extraction.kind = result.kind
        extraction.status = Extraction.Status.SUCCEEDED
        extraction.finished_at = timezone.now()
        extraction.duration_ms = int((time.monotonic() - started) * 1000)
        extraction.result = invoice_to_dict(result, file=document.original_filename)
        extraction.text = result.text[:200_000]
        extraction.save()
        if result.page_count and document.page_count != result.page_count:
            document.page_count = result.page_count
            document.save(update_fields=["page_count"])
        invoice = invoice_apply_extraction(invoice=invoice, result=result, extraction=extraction)
        invoice_apply_vendor_memory(invoice=invoice, extraction=extraction)
        invoice.refresh_from_db()
    return invoice_evaluate(invoice=invoice, source=source)


def invoice_extraction_retry(*, invoice: Invoice, actor) -> Invoice:
    """A clerk's "Read again" on an invoice whose extraction failed: back to ``extracting`` and
    the extraction task queued, in one transaction (the task commits with the state change).
    Earlier runs and clerk edits are kept. Raises ApplicationError in any other state."""
    from apinvoices.exceptions import ApplicationError
    from apinvoices.ingestion.service import EXTRACT_TASK
    from apinvoices.queueing import enqueue_with_transaction

    if invoice.state != S.EXTRACTION_FAILED:
        raise ApplicationError(f"Only an invoice whose reading failed can be read again; this one is {invoice.get_state_display().lower()}.")
    with transaction.atomic():
        invoice = invoice_transition(
            invoice=invoice, to=S.EXTRACTING, actor=actor, reason="Read again at a clerk's request.",
        )
        enqueue_with_transaction(EXTRACT_TASK, invoice.pk, task_name=f"extract-invoice-{invoice.pk}", group="extract")
    return invoice


def _fail(invoice, extraction, started, *, code: str, message: str, actor, source: str) -> Invoice:
    with transaction.atomic():
        extraction.status = Extraction.Status.FAILED
        extraction.error_code = code
        extraction.error_message = message
        extraction.finished_at = timezone.now()
        extraction.duration_ms = int((time.monotonic() - started) * 1000)
        extraction.save()
        target = S.PASSWORD_NEEDED if code in PASSWORD_CODES else S.EXTRACTION_FAILED
        if INVOICE_MACHINE.can(invoice.state, target):
            invoice = invoice_transition(
                invoice=invoice, to=target, actor=actor, source=source, reason=message,
                params={"error_code": code},
            )
    return invoice
