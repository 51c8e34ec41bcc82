"""Exactly-once posting through the outbox service against a REAL trytond, under faults.

Each test drives ``erp_posting_send`` (claim, ERP call outside transactions, record) and then
counts the supplier invoices Tryton holds for the posting's idempotency key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from apinvoices.models import Invoice
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory
from erp_integration.backends.base import ErpErrorCode
from erp_integration.backends.jsonrpc import TrytonClient
from erp_integration.backends.tryton import TrytonBackend, key_marker
from erp_integration.models import ErpPosting
from erp_integration.services.outbox import posting_idempotency_key
from erp_integration.services.sending import erp_posting_send
from erp_integration.tests.test_tryton_backend import FreezeServerBefore

# Transactional (the worker and the threads must see committed rows); serialized_rollback keeps
# the migrated data (roles, content types) for the tests that run after these on this worker.
pytestmark = [pytest.mark.erp, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REPO = Path(__file__).resolve().parents[2]


def _backend(server, **kw) -> TrytonBackend:
    return TrytonBackend(url=server.url, database=server.database, user=server.user,
                         password=server.password, **kw)


def _tryton_rows(server, key: str) -> list[dict]:
    client = TrytonClient(url=server.url, database=server.database, user=server.user,
                          password=server.password)
    client.context = {"company": server.company_id}
    return client.search_read(
        "account.invoice", [("description", "like", key_marker(key) + "%")], ["state", "number"],
    )


def _approved_posting(settings) -> ErpPosting:
    settings.AP_ERP_BACKEND = "tryton"
    invoice = InvoiceFactory(state=Invoice.State.APPROVED)
    InvoiceLineFactory(invoice=invoice, position=1)
    # The row erp_posting_create writes, without its on-commit send (tasks run inline in tests,
    # and each test wants to be the one that sends).
    return ErpPosting.objects.create(invoice=invoice, backend="tryton",
                                     idempotency_key=posting_idempotency_key(invoice, 1))


def test_worker_killed_after_erp_create_before_commit_then_retry_posts_once(
    settings, tryton_server, tmp_path
):
    """GIVEN a worker process that is SIGKILLed right after Tryton created and posted the invoice
    WHEN the lease expires and the retry sends again
    THEN Tryton holds one posted invoice for the key and our posting is posted."""
    posting = _approved_posting(settings)
    db_name = connection.settings_dict["NAME"]
    script = (
        "import os, signal\n"
        "from erp_integration.backends.tryton import TrytonBackend\n"
        "original = TrytonBackend.post_invoice\n"
        "def dying(self, payload):\n"
        "    result = original(self, payload)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "TrytonBackend.post_invoice = dying\n"
        "from erp_integration.services.sending import erp_posting_send\n"
        f"p = erp_posting_send(posting_id={posting.pk})\n"
        "print('NOT KILLED', p.state, p.last_error_code, p.last_error)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{db_name}",
        "AP_VAR_DIR": str(tmp_path),
        "AP_ERP_BACKEND": "tryton",
        "TRYTON_URL": tryton_server.url,
        "TRYTON_DATABASE": tryton_server.database,
        "TRYTON_USER": tryton_server.user,
        "TRYTON_PASSWORD": tryton_server.password,
    }
    connections.close_all()  # the worker must not wait on a lock we hold
    worker = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=180)
    assert worker.returncode == -9, worker.stdout[-2000:] + worker.stderr[-2000:]

    posting.refresh_from_db()
    assert posting.state == ErpPosting.State.SENDING and posting.attempts == 1
    assert [r["state"] for r in _tryton_rows(tryton_server, posting.idempotency_key)] == ["posted"]

    # Still leased: a retry now must not send.
    assert erp_posting_send(posting_id=posting.pk, backend=_backend(tryton_server)).state == "sending"
    ErpPosting.objects.filter(pk=posting.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    done = erp_posting_send(posting_id=posting.pk, backend=_backend(tryton_server))

    rows = _tryton_rows(tryton_server, posting.idempotency_key)
    assert [r["state"] for r in rows] == ["posted"]
    assert done.state == ErpPosting.State.POSTED and done.erp_id == str(rows[0]["id"])
    assert done.attempts == 2
    assert Invoice.objects.get(pk=posting.invoice_id).state == Invoice.State.POSTED


def test_two_workers_sending_one_posting_at_once_post_once(settings, tryton_server):
    posting = _approved_posting(settings)
    barrier = threading.Barrier(2)
    results: list = []

    def work():
        try:
            backend = _backend(tryton_server)
            barrier.wait(timeout=30)
            results.append(erp_posting_send(posting_id=posting.pk, backend=backend).state)
        except Exception as err:  # surfaced by the assertion below
            results.append(err)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(results) == 2 and not any(isinstance(r, Exception) for r in results), results
    posting.refresh_from_db()
    rows = _tryton_rows(tryton_server, posting.idempotency_key)
    assert [r["state"] for r in rows] == ["posted"]
    assert posting.state == ErpPosting.State.POSTED and posting.attempts == 1
    assert posting.erp_id == str(rows[0]["id"])


def test_timeout_whose_request_succeeded_then_retry_posts_once(
    settings, tryton_server, tryton_server_process
):
    """GIVEN trytond freezes as the post RPC is sent, so our call times out (it runs after SIGCONT)
    WHEN the posting is retried
    THEN it is found, not created again: one invoice, posting posted with already-existed."""
    posting = _approved_posting(settings)
    backend = _backend(tryton_server, timeout=3.0)
    backend.client._http = FreezeServerBefore(tryton_server_process, "model.account.invoice.post")
    try:
        failed = erp_posting_send(posting_id=posting.pk, backend=backend)
    finally:
        if backend.client._http.frozen:
            tryton_server_process.resume()
    assert backend.client._http.frozen
    assert failed.state == ErpPosting.State.FAILED
    assert failed.last_error_code == ErpErrorCode.TIMEOUT
    assert failed.next_attempt_at is not None  # retryable: back-off scheduled

    deadline = time.monotonic() + 30
    while [r["state"] for r in _tryton_rows(tryton_server, posting.idempotency_key)] != ["posted"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    done = erp_posting_send(posting_id=posting.pk, backend=_backend(tryton_server))

    rows = _tryton_rows(tryton_server, posting.idempotency_key)
    assert len(rows) == 1
    assert done.state == ErpPosting.State.POSTED and done.erp_id == str(rows[0]["id"])
    assert Invoice.objects.get(pk=posting.invoice_id).state == Invoice.State.POSTED
    assert done.invoice.events.filter(message__startswith="Found already in tryton").exists()
