"""The ERP postings page and the posting panel on the invoice page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apinvoices.models import Invoice
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory
from erp_integration.models import ErpPosting

pytestmark = pytest.mark.django_db
P = ErpPosting.State


def _posting(state, **kw) -> ErpPosting:
    invoice = InvoiceFactory(state=Invoice.State.APPROVED)
    InvoiceLineFactory(invoice=invoice, position=1)
    return ErpPosting.objects.create(invoice=invoice, backend="file", state=state,
                                     idempotency_key=f"k-{invoice.pk}", **kw)


def test_failed_posting_shows_erp_message_advice_next_retry_and_retry_button(client, cast):
    failed = _posting(P.FAILED, attempts=3, last_error_code="validation",
                      last_error="Tax 16% unknown in the ERP", next_attempt_at=None)
    _posting(P.POSTED, erp_id="42", erp_number="SUP-42", attempts=1)
    client.force_login(cast.clerk)

    html = client.get(reverse("erp_integration:posting_list")).content.decode()
    assert "Tax 16% unknown in the ERP" in html and "Correct the invoice or the ERP mapping" in html
    assert "SUP-42" in html and "only by hand" in html
    assert reverse("erp_integration:posting_retry", args=[failed.pk]) in html

    only_failed = client.get(reverse("erp_integration:posting_list"), {"state": "failed"}).content.decode()
    assert "Tax 16%" in only_failed and "SUP-42" not in only_failed


def test_auditor_sees_the_list_without_buttons(client, cast):
    failed = _posting(P.FAILED, last_error_code="unavailable", last_error="down",
                      next_attempt_at=timezone.now() + timedelta(minutes=4))
    client.force_login(cast.auditor)
    html = client.get(reverse("erp_integration:posting_list")).content.decode()
    assert "down" in html and "retried automatically" in html
    assert reverse("erp_integration:posting_retry", args=[failed.pk]) not in html
    assert "Sync from ERP" not in html


def test_retry_button_sends_again_and_posts(client, cast, settings, tmp_path,
                                             django_capture_on_commit_callbacks):
    settings.AP_ERP_BACKEND = "file"
    settings.AP_ERP_EXPORT_DIR = tmp_path
    failed = _posting(P.FAILED, attempts=1, last_error_code="unavailable", last_error="disk full")
    client.force_login(cast.clerk)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("erp_integration:posting_retry", args=[failed.pk]))

    failed.refresh_from_db()
    assert failed.state == P.POSTED and failed.attempts == 2
    assert Invoice.objects.get(pk=failed.invoice_id).state == Invoice.State.POSTED


def test_retry_of_a_posted_posting_is_refused_with_a_message(client, cast):
    posted = _posting(P.POSTED, erp_id="7", attempts=1)
    client.force_login(cast.clerk)
    html = client.post(reverse("erp_integration:posting_retry", args=[posted.pk]), follow=True).content.decode()
    assert "Only failed postings can be retried" in html


def test_invoice_page_shows_its_posting_status(client, cast):
    failed = _posting(P.FAILED, attempts=2, last_error_code="timeout", last_error="no answer in 30 s")
    client.force_login(cast.clerk)
    html = client.get(reverse("apinvoices:invoice_detail", args=[failed.invoice_id])).content.decode()
    assert "ERP posting" in html and "no answer in 30 s" in html and "2 attempts" in html
