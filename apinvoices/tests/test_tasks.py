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


# Where an invoice is when its document was not read (the good PDF lacks fields, so a read one
# goes to review or to the exception queue).
READ_FAILED = {Invoice.State.EXTRACTING, Invoice.State.EXTRACTION_FAILED, Invoice.State.RECEIVED}


def _pdf_invoice(state: str = Invoice.State.EXTRACTING) -> Invoice:
    from apinvoices.tests.samples.bad_inputs import good_pdf

    data = good_pdf("worker died")
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.PDF,
        content_type="application/pdf", original_filename="died.pdf", channel="upload",
        file=ContentFile(data, name="died.pdf"),
    )
    return Invoice.objects.create(document=document, state=state)


def _cut_off_runs(invoice: Invoice, count: int, *, seconds_ago: int) -> None:
    """Runs a killed worker left behind: ``running`` rows that nothing will ever finish."""
    from datetime import timedelta

    from django.utils import timezone

    for _ in range(count):
        Extraction.objects.create(document=invoice.document,
                                  started_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_a_redelivery_after_one_killed_run_reads_the_document(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60, "max_attempts": 3}
    invoice = _pdf_invoice()
    _cut_off_runs(invoice, 1, seconds_ago=120)

    assert extract_invoice(invoice.pk) not in READ_FAILED

    runs = Extraction.objects.filter(document=invoice.document).order_by("started_at")
    assert [(r.status, r.error_code) for r in runs] == [("failed", "worker_died"), ("succeeded", "")]


def test_the_last_delivery_after_killed_runs_fails_the_invoice_for_a_clerk(settings):
    """GIVEN a document whose reading killed the worker on two deliveries (time limit, memory)
    WHEN the broker delivers the task the third and last time
    THEN the invoice ends in extraction_failed with a reason a clerk can act on, instead of
    being read a third time and left in extracting for good when the broker gives up;
    a clerk's retry then reads it."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60, "max_attempts": 3}
    invoice = _pdf_invoice()
    _cut_off_runs(invoice, 2, seconds_ago=120)

    assert extract_invoice(invoice.pk) == Invoice.State.EXTRACTION_FAILED

    invoice.refresh_from_db()
    assert "stopped the worker 2 times" in invoice.state_reason and "original is kept" in invoice.state_reason
    assert not Extraction.objects.filter(document=invoice.document, status="running").exists()

    from apinvoices.services.extraction import invoice_extract

    assert invoice_extract(invoice_id=invoice.pk, source="clerk:retry").state not in READ_FAILED


def test_a_run_younger_than_the_task_timeout_is_not_taken_for_dead(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 600, "max_attempts": 2}
    invoice = _pdf_invoice()
    _cut_off_runs(invoice, 1, seconds_ago=120)  # may still be running in another worker

    assert extract_invoice(invoice.pk) not in READ_FAILED
    assert Extraction.objects.filter(document=invoice.document, status="running").count() == 1


def test_a_clerk_reads_a_failed_invoice_again_from_its_page(client, settings, django_capture_on_commit_callbacks):
    """GIVEN an invoice whose reading failed (here: the worker died on every delivery)
    WHEN a clerk presses "Read again" on its page
    THEN it goes back to extracting, is read (tasks run inline in tests) and the timeline
    names the clerk; on an invoice that was read the button is absent and a POST changes nothing."""
    from apinvoices.tests.factories import UserFactory
    from apinvoices.roles import Role
    from django.contrib.auth.models import Group

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60, "max_attempts": 3}
    invoice = _pdf_invoice()
    _cut_off_runs(invoice, 2, seconds_ago=120)
    assert extract_invoice(invoice.pk) == Invoice.State.EXTRACTION_FAILED
    clerk = UserFactory(username="reader")
    clerk.groups.add(Group.objects.get(name=Role.CLERK.value))
    client.force_login(clerk)
    page = client.get(f"/invoices/{invoice.pk}/")
    assert b'id="extract-again"' in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/invoices/{invoice.pk}/extract/")

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.state not in READ_FAILED
    assert InvoiceEvent.objects.filter(invoice=invoice, actor=clerk, to_state=Invoice.State.EXTRACTING).exists()
    assert b'id="extract-again"' not in client.get(f"/invoices/{invoice.pk}/").content
    state = invoice.state
    client.post(f"/invoices/{invoice.pk}/extract/")
    invoice.refresh_from_db()
    assert invoice.state == state
