"""A worker reuses its ERP session between postings, and drops it when it must."""

from __future__ import annotations

import datetime as dt

import pytest

from apinvoices.models import Invoice
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory
from erp_integration.backends import forget_worker_backend, worker_backend
from erp_integration.models import ErpPosting
from erp_integration.services.outbox import posting_idempotency_key
from erp_integration.services.sending import erp_posting_send


@pytest.fixture
def tryton_settings(settings):
    settings.AP_ERP_BACKEND = "tryton"
    settings.TRYTON_URL, settings.TRYTON_DATABASE = "http://127.0.0.1:1", "ap"
    settings.TRYTON_USER, settings.TRYTON_PASSWORD = "admin", "one"
    settings.AP_ERP_SESSION_SECONDS = 300
    return settings


def test_one_thread_gets_the_same_tryton_backend_until_something_changes(tryton_settings):
    first = worker_backend()
    assert worker_backend("tryton") is first

    tryton_settings.TRYTON_PASSWORD = "two"  # an admin changed the configuration
    second = worker_backend()
    assert second is not first and worker_backend() is second

    forget_worker_backend("tryton")  # after a failed posting
    third = worker_backend()
    assert third is not second

    tryton_settings.AP_ERP_SESSION_SECONDS = 0  # expired at once
    assert worker_backend() is not third


def test_another_thread_gets_its_own_backend(tryton_settings):
    import threading

    mine = worker_backend()
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(worker_backend()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_backends_that_are_not_reusable_are_made_afresh(settings):
    settings.AP_ERP_BACKEND = "file"
    assert worker_backend() is not worker_backend()


def _approved_posting(**invoice_kw) -> ErpPosting:
    invoice = InvoiceFactory(state=Invoice.State.APPROVED, **invoice_kw)
    InvoiceLineFactory(invoice=invoice, position=1)
    # The outbox row without its on-commit send: the test sends.
    return ErpPosting.objects.create(invoice=invoice, backend="tryton",
                                     idempotency_key=posting_idempotency_key(invoice, 1) + "-wb")


@pytest.mark.erp
@pytest.mark.django_db
def test_postings_share_one_tryton_login_and_a_failure_starts_afresh(settings, tryton_server):
    settings.AP_ERP_BACKEND = "tryton"
    settings.TRYTON_URL, settings.TRYTON_DATABASE = tryton_server.url, tryton_server.database
    settings.TRYTON_USER, settings.TRYTON_PASSWORD = tryton_server.user, tryton_server.password
    today = dt.date.today()

    sent = [erp_posting_send(posting_id=_approved_posting(issue_date=today).pk) for _ in range(3)]

    assert [p.state for p in sent] == [ErpPosting.State.POSTED] * 3
    assert len({p.erp_id for p in sent}) == 3
    backend = worker_backend()
    assert backend.client.logins == 1  # three postings, one session

    # Tryton refuses this one (no fiscal year in 2031): the session and configuration are dropped.
    failed = erp_posting_send(posting_id=_approved_posting(issue_date=dt.date(2031, 1, 15)).pk)
    assert failed.state == ErpPosting.State.FAILED and failed.last_error_code == "validation"
    after = worker_backend()
    assert after is not backend

    again = erp_posting_send(posting_id=_approved_posting(issue_date=today).pk)
    assert again.state == ErpPosting.State.POSTED and after.client.logins == 1
