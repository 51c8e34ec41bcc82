"""django-q2 entry points: thin, by id, each calls one service."""

from __future__ import annotations

from apinvoices.models import Invoice
from apinvoices.services.extraction import invoice_extract

# The only states the extraction task is queued for (on arrival, after a PDF password).
EXTRACT_TASK_STATES = frozenset({Invoice.State.RECEIVED, Invoice.State.EXTRACTING})


def extract_invoice(invoice_id: int) -> str:
    """Extract, check and route one invoice. Returns the state it ended in.

    A no-op for an invoice that has already left ``received``/``extracting``: the ORM broker
    delivers a task again when the worker that ran it died before the result was acknowledged
    (SIGKILL, OOM, power loss), and by then the invoice may be under review, approved or posted.
    Extracting it again would pull it back to ``extracting`` under a clerk, or fail every retry
    on a posted invoice.

    A scanned original's word boxes take Tesseract seconds per page; they are read ahead by the
    worker so the clerk's review screen never waits on OCR in a web request.
    """
    from django.conf import settings

    state = Invoice.objects.filter(pk=invoice_id).values_list("state", flat=True).first()
    if state is not None and state not in EXTRACT_TASK_STATES:
        return state
    invoice = invoice_extract(invoice_id=invoice_id)
    if settings.AP_PREFETCH_WORD_PAGES and invoice.document.extractions.filter(status="succeeded", kind="ocr").exists():
        from django_q.tasks import async_task

        async_task("apinvoices.tasks.prefetch_page_words", invoice.document_id,
                   task_name=f"words-{invoice.document_id}")
    return invoice.state


def prefetch_page_words(document_id: int) -> int:
    """Read and keep the word boxes of the first pages of a document; returns how many pages."""
    from django.conf import settings

    from apinvoices.exceptions import ApplicationError
    from apinvoices.models import Document
    from apinvoices.services.words import document_page_words

    document = Document.objects.get(pk=document_id)
    done = 0
    for page in range(1, min(document.page_count or 1, settings.AP_PREFETCH_WORD_PAGES) + 1):
        try:
            document_page_words(document=document, page=page)
        except ApplicationError:
            break  # a damaged page: the review screen says so when asked
        done += 1
    return done
