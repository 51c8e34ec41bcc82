"""django-q2 entry points: thin, by id, each calls one service."""

from __future__ import annotations

from apinvoices.services.extraction import invoice_extract


def extract_invoice(invoice_id: int) -> str:
    """Extract, check and route one invoice. Returns the state it ended in.

    A scanned original's word boxes take Tesseract seconds per page; they are read ahead by the
    worker so the clerk's review screen never waits on OCR in a web request."""
    from django.conf import settings

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
