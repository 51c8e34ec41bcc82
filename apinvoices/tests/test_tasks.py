"""The extraction task entry point: a task the broker delivers again must not re-extract."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from apinvoices.models import Document, Extraction, Invoice, InvoiceEvent
from apinvoices.tasks import extract_invoice

pytestmark = pytest.mark.django_db


def _invoice(state: str) -> Invoice:
    data = b"<Invoice>not really</Invoice>"
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.XML,
        content_type="application/xml", original_filename="x.xml", channel="upload",
        file=ContentFile(data, name="x.xml"),
    )
    return Invoice.objects.create(document=document, state=state)


@pytest.mark.parametrize("state", [Invoice.State.NEEDS_REVIEW, Invoice.State.AWAITING_APPROVAL,
                                   Invoice.State.POSTED])
def test_redelivered_extract_task_leaves_an_invoice_past_extraction_alone(state):
    """GIVEN an invoice that was extracted and moved on (under review, in approval, posted)
    WHEN its extraction task is delivered again (the worker died before acknowledging it)
    THEN nothing is read, no event is written and the task succeeds with the current state."""
    invoice = _invoice(state)

    assert extract_invoice(invoice.pk) == state

    invoice.refresh_from_db()
    assert invoice.state == state
    assert not Extraction.objects.filter(document=invoice.document).exists()
    assert not InvoiceEvent.objects.filter(invoice=invoice).exists()


@pytest.mark.parametrize("state", [Invoice.State.RECEIVED, Invoice.State.EXTRACTING])
def test_extract_task_reads_an_invoice_still_waiting_for_extraction(state):
    """An interrupted extraction (left ``extracting``) is run again to the end."""
    invoice = _invoice(state)

    assert extract_invoice(invoice.pk) == Invoice.State.EXTRACTION_FAILED

    assert Extraction.objects.filter(document=invoice.document).count() == 1
