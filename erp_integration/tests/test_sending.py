"""The outbox service (claim, send, record) with the file-export backend, which is always there."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory
from erp_integration.backends.fileexport import FileExportBackend
from erp_integration.models import ErpPosting
from erp_integration.services.outbox import erp_posting_create
from erp_integration.services.sending import (
    erp_payload_for,
    erp_posting_retry,
    erp_posting_send,
    erp_postings_retry_due,
)

P = ErpPosting.State


@pytest.fixture
def posting(db, settings) -> ErpPosting:
    settings.AP_ERP_BACKEND = "file"
    invoice = InvoiceFactory(state=Invoice.State.APPROVED)
    InvoiceLineFactory(invoice=invoice, position=1)
    with transaction.atomic():
        return erp_posting_create(invoice=invoice, source="test")


def _broken_backend(tmp_path) -> FileExportBackend:
    # A regular file where the export folder should be: mkdir fails like a full or missing share.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    return FileExportBackend(directory=blocker / "sub")


def test_success_moves_the_invoice_to_posted(posting, tmp_path):
    sent = erp_posting_send(posting_id=posting.pk, backend=FileExportBackend(directory=tmp_path))

    assert sent.state == P.POSTED and sent.attempts == 1 and sent.erp_id
    assert sent.posted_at is not None and sent.next_attempt_at is None
    assert Invoice.objects.get(pk=posting.invoice_id).state == Invoice.State.POSTED
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_failure_records_code_message_and_backoff(posting, tmp_path):
    before = timezone.now()
    failed = erp_posting_send(posting_id=posting.pk, backend=_broken_backend(tmp_path))

    assert failed.state == P.FAILED and failed.attempts == 1
    assert failed.last_error_code == "unavailable"
    assert "Cannot write to" in failed.last_error
    assert before + timedelta(seconds=50) < failed.next_attempt_at < before + timedelta(minutes=2)
    assert Invoice.objects.get(pk=posting.invoice_id).state == Invoice.State.APPROVED
    event = InvoiceEvent.objects.filter(invoice_id=posting.invoice_id).latest("pk")
    assert "Posting failed (unavailable)" in event.message and "Retrying automatically" in event.message

    again = erp_posting_send(posting_id=posting.pk, backend=FileExportBackend(directory=tmp_path / "not-a-folder" / "sub"))
    # Second failure doubles the back-off.
    assert again.attempts == 2
    assert again.next_attempt_at - timezone.now() > timedelta(seconds=110)


def test_retry_after_failure_posts_once(posting, tmp_path, settings):
    erp_posting_send(posting_id=posting.pk, backend=_broken_backend(tmp_path))
    # Not due yet: the scheduled retry queues nothing.
    settings.AP_ERP_EXPORT_DIR = tmp_path / "export"
    assert erp_postings_retry_due() == 0
    ErpPosting.objects.filter(pk=posting.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    assert erp_postings_retry_due() == 1  # tasks run inline in tests: sent with the default backend

    posting.refresh_from_db()
    assert posting.state == P.POSTED and posting.attempts == 2
    assert posting.last_error == "" and posting.last_error_code == ""
    assert len(list((tmp_path / "export").glob("*.json"))) == 1
    # A stray second send changes nothing.
    assert erp_posting_send(posting_id=posting.pk).attempts == 2


def test_manual_retry_only_for_failed_postings(posting, tmp_path, settings, cast, django_capture_on_commit_callbacks):
    from apinvoices.exceptions import ApplicationError

    with pytest.raises(ApplicationError):
        erp_posting_retry(posting=posting, actor=cast.clerk)
    erp_posting_send(posting_id=posting.pk, backend=_broken_backend(tmp_path))
    posting.refresh_from_db()
    settings.AP_ERP_EXPORT_DIR = tmp_path / "export"
    with django_capture_on_commit_callbacks(execute=True):
        erp_posting_retry(posting=posting, actor=cast.clerk)
    posting.refresh_from_db()
    assert posting.state == P.POSTED


def test_posting_is_cancelled_when_the_invoice_is_rerouted(posting, cast):
    from approvals.services.decisions import invoice_reroute_after_edit

    invoice_reroute_after_edit(posting.invoice, cast.clerk)

    posting.refresh_from_db()
    assert posting.state == P.CANCELLED
    assert erp_posting_send(posting_id=posting.pk).state == P.CANCELLED  # never sent afterwards
    # The next approval gets a fresh posting with a new key.
    with transaction.atomic():
        Invoice.objects.filter(pk=posting.invoice_id).update(state=Invoice.State.APPROVED)
        fresh = erp_posting_create(invoice=Invoice.objects.get(pk=posting.invoice_id), source="test")
    assert fresh.pk != posting.pk and fresh.idempotency_key != posting.idempotency_key


def test_payload_drops_trailing_zeros_but_keeps_digits(posting):
    line = posting.invoice.lines.get()
    line.unit_price = Decimal("12.345600")
    line.save()
    payload = erp_payload_for(posting.invoice, idempotency_key="k")
    assert str(payload.lines[0].unit_price) == "12.3456"
    assert str(payload.lines[0].quantity) == "1"


def test_every_attempt_is_logged_with_its_outcome_and_the_erps_message(posting, tmp_path):
    erp_posting_send(posting_id=posting.pk, backend=_broken_backend(tmp_path))
    erp_posting_send(posting_id=posting.pk, backend=FileExportBackend(directory=tmp_path / "ok"))
    erp_posting_send(posting_id=posting.pk, backend=FileExportBackend(directory=tmp_path / "ok"))

    posting.refresh_from_db()
    failed, posted = posting.attempt_log.order_by("number")
    assert (failed.number, failed.outcome, failed.error_code) == (1, "failed", "unavailable")
    assert "Cannot write to" in failed.error_message and failed.retry_at is not None
    assert failed.started_at <= failed.finished_at
    assert (posted.number, posted.outcome, posted.erp_id, posted.error_message) == (
        2, "posted", posting.erp_id, "")


@pytest.fixture
def orm_queue(settings, monkeypatch):
    """Tasks become rows of this database, as with the embedded ORM broker (nothing runs)."""
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False, "orm": "default", "retry": 120}
    settings.Q_CLUSTER.pop("redis", None)
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")


def _queued_sends() -> list[int]:
    from django_q.models import OrmQ

    return [row.task["args"][0] for row in OrmQ.objects.all() if row.task["func"].endswith("send_posting")]


def test_the_send_task_commits_or_rolls_back_with_the_posting(db, settings, orm_queue):
    settings.AP_ERP_BACKEND = "file"
    invoice = InvoiceFactory(state=Invoice.State.APPROVED)
    with pytest.raises(RuntimeError), transaction.atomic():
        erp_posting_create(invoice=invoice, source="test")
        raise RuntimeError("the approval failed after the posting was created")
    assert not ErpPosting.objects.exists() and _queued_sends() == []

    with transaction.atomic():
        posting = erp_posting_create(invoice=invoice, source="test")
    # No on-commit hook involved: a process killed right after COMMIT still leaves the task.
    assert _queued_sends() == [posting.pk]


def test_the_sweep_queues_a_waiting_posting_once_per_interval(db, settings, orm_queue):
    settings.AP_ERP_BACKEND = "file"
    with transaction.atomic():
        posting = erp_posting_create(invoice=InvoiceFactory(state=Invoice.State.APPROVED), source="test")
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()  # as if the task had been lost
    # Queued moments ago: the broker would still deliver it; queueing again adds only churn.
    assert erp_postings_retry_due() == 0

    ErpPosting.objects.filter(pk=posting.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert erp_postings_retry_due() == 1
    assert _queued_sends() == [posting.pk]
    posting.refresh_from_db()
    assert posting.state == P.PENDING
    assert posting.next_attempt_at > timezone.now() + timedelta(seconds=100)  # the broker's retry
    # Every following minute's sweep while the task waits behind a backlog: nothing more queued.
    assert erp_postings_retry_due() == 0
    assert _queued_sends() == [posting.pk]


def test_the_sweep_still_resends_a_posting_whose_worker_died(db, settings, orm_queue, tmp_path):
    settings.AP_ERP_BACKEND = "file"
    with transaction.atomic():
        posting = erp_posting_create(invoice=InvoiceFactory(state=Invoice.State.APPROVED), source="test")
    # Claimed by a worker that was then killed: sending, lease run out.
    ErpPosting.objects.filter(pk=posting.pk).update(state=P.SENDING,
                                                    next_attempt_at=timezone.now() - timedelta(seconds=1))
    from django_q.models import OrmQ

    OrmQ.objects.all().delete()
    assert erp_postings_retry_due() == 1
    posting.refresh_from_db()
    # The lease is left as it is, so the queued task can claim the posting.
    assert posting.state == P.SENDING and posting.next_attempt_at < timezone.now()
    sent = erp_posting_send(posting_id=posting.pk, backend=FileExportBackend(directory=tmp_path))
    assert sent.state == P.POSTED
