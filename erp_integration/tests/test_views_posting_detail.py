"""The ERP posting detail page: status, key, ERP document, every attempt, retry, links."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape

from apinvoices.models import Invoice
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory
from erp_integration.backends.fileexport import FileExportBackend
from erp_integration.models import ErpPosting
from erp_integration.services.outbox import erp_posting_create
from erp_integration.services.sending import erp_posting_send

pytestmark = pytest.mark.django_db
P = ErpPosting.State
HOSTILE = '<script>alert("erp")</script>'


@pytest.fixture
def failed_posting(settings, tmp_path) -> ErpPosting:
    """A posting whose one attempt failed on a broken export share, retry planned."""
    settings.AP_ERP_BACKEND = "file"
    invoice = InvoiceFactory(state=Invoice.State.APPROVED, vendor_name=f"Evil {HOSTILE} GmbH",
                             invoice_number="INV-<b>7</b>")
    InvoiceLineFactory(invoice=invoice, position=1)
    with transaction.atomic():
        posting = erp_posting_create(invoice=invoice, source="test")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    return erp_posting_send(posting_id=posting.pk, backend=FileExportBackend(directory=blocker / "sub"))


def url(posting: ErpPosting) -> str:
    return reverse("erp_integration:posting_detail", args=[posting.pk])


def test_failed_posting_shows_key_attempt_erp_message_next_retry_retry_button_and_invoice(
    client, cast, failed_posting
):
    client.force_login(cast.clerk)
    html = client.get(url(failed_posting)).content.decode()

    assert failed_posting.idempotency_key in html
    assert escape(failed_posting.last_error) in html and "Cannot write to" in failed_posting.last_error
    assert failed_posting.next_attempt_at.strftime("%Y-%m-%d %H:%M") in html
    assert "retried automatically" in html  # the advice for "unavailable"
    assert reverse("erp_integration:posting_retry", args=[failed_posting.pk]) in html
    assert f'name="next" value="{url(failed_posting)}"' in html
    assert reverse("apinvoices:invoice_detail", args=[failed_posting.invoice_id]) in html
    attempts = html.split('id="posting-attempts"', 1)[1]
    assert attempts.count("<tr>") == 2  # header + one attempt
    assert "unavailable" in attempts and "Cannot write to" in attempts


def test_everything_from_the_invoice_and_the_erp_is_escaped(client, cast, failed_posting):
    ErpPosting.objects.filter(pk=failed_posting.pk).update(last_error=f"ERP says {HOSTILE}")
    failed_posting.attempt_log.update(error_message=f"ERP says {HOSTILE}", erp_number=HOSTILE)
    client.force_login(cast.clerk)
    html = client.get(url(failed_posting)).content.decode()
    assert HOSTILE not in html and "<b>7</b>" not in html
    assert "&lt;script&gt;alert(&quot;erp&quot;)&lt;/script&gt;" in html


def test_posted_after_a_retry_shows_both_attempts_and_no_retry_button(
    client, cast, failed_posting, tmp_path
):
    posted = erp_posting_send(posting_id=failed_posting.pk,
                              backend=FileExportBackend(directory=tmp_path / "ok"))
    client.force_login(cast.clerk)
    html = client.get(url(posted)).content.decode()
    assert posted.erp_id in html
    assert html.split('id="posting-attempts"', 1)[1].count("<tr>") == 3
    assert reverse("erp_integration:posting_retry", args=[posted.pk]) not in html


def test_auditor_reads_without_the_retry_button_and_outsider_is_refused(
    client, cast, failed_posting
):
    client.force_login(cast.auditor)
    html = client.get(url(failed_posting)).content.decode()
    assert "Cannot write to" in html
    assert reverse("erp_integration:posting_retry", args=[failed_posting.pk]) not in html
    client.force_login(cast.outsider)
    assert client.get(url(failed_posting)).status_code == 403
    client.force_login(cast.approver)
    assert client.get(url(failed_posting)).status_code == 403


def test_retry_from_the_page_posts_and_comes_back_to_it(
    client, cast, failed_posting, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.AP_ERP_EXPORT_DIR = tmp_path / "export"
    client.force_login(cast.clerk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("erp_integration:posting_retry", args=[failed_posting.pk]),
                               {"next": url(failed_posting)})
    assert response.status_code == 302 and response["Location"] == url(failed_posting)
    failed_posting.refresh_from_db()
    assert failed_posting.state == P.POSTED


def test_list_and_invoice_page_link_to_the_detail_page(client, cast, failed_posting):
    client.force_login(cast.clerk)
    listing = client.get(reverse("erp_integration:posting_list")).content.decode()
    invoice_page = client.get(
        reverse("apinvoices:invoice_detail", args=[failed_posting.invoice_id])).content.decode()
    assert url(failed_posting) in listing
    assert url(failed_posting) in invoice_page


def test_query_count_is_fixed_whatever_the_number_of_attempts(
    client, cast, failed_posting, tmp_path, django_assert_num_queries
):
    """Session, user, the posting with invoice, vendor and creator joined, the user's roles (one
    read serves both permission checks), its attempts, and the navigation counts of base.html."""
    client.force_login(cast.clerk)
    client.get(url(failed_posting))  # warm per-process caches (content types)
    with django_assert_num_queries(6):
        client.get(url(failed_posting))
    for _ in range(3):
        erp_posting_send(posting_id=failed_posting.pk,
                         backend=FileExportBackend(directory=tmp_path / "not-a-folder" / "x"))
    with django_assert_num_queries(6):
        html = client.get(url(failed_posting)).content.decode()
    assert html.split('id="posting-attempts"', 1)[1].count("<tr>") == 5


def test_unknown_posting_is_404(client, cast):
    client.force_login(cast.clerk)
    assert client.get(reverse("erp_integration:posting_detail", args=[987654])).status_code == 404
