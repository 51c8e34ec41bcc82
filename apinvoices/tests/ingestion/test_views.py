"""Upload page, the oversize guard on the wire, and the PDF password endpoint."""

from __future__ import annotations

import io
import logging
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apinvoices.ingestion.service import Accepted, document_ingest
from apinvoices.models import Channel, Document, DocumentReceipt, InboundMail, Invoice
from apinvoices.secrets import decrypt_secret
from apinvoices.tests.samples.bad_inputs import ELF_BYTES, encrypted_pdf, good_pdf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_only")]
URL = "/upload/"


def test_upload_url_and_permission(client, cast):
    assert reverse("apinvoices:upload") == URL
    client.force_login(cast.approver)
    assert client.get(URL).status_code == 403
    client.force_login(cast.clerk)
    page = client.get(URL)
    assert page.status_code == 200
    assert b"Drop invoice files here" in page.content


def test_several_files_in_one_post_each_get_their_result(client, cast):
    client.force_login(cast.clerk)
    first = document_ingest(data=good_pdf("earlier"), filename="earlier.pdf", channel=Channel.FOLDER)
    files = [
        SimpleUploadedFile("new.pdf", good_pdf("new"), content_type="application/pdf"),
        SimpleUploadedFile("again.pdf", good_pdf("earlier"), content_type="application/pdf"),
        SimpleUploadedFile("invoice.pdf", ELF_BYTES, content_type="application/pdf"),
    ]
    response = client.post(URL, {"files": files}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<li") == 3
    assert 'data-outcome="accepted"' in html
    new_invoice = Invoice.objects.get(document__original_filename="new.pdf")
    assert reverse("apinvoices:invoice_detail", args=[new_invoice.pk]) in html
    assert 'data-outcome="duplicate"' in html and "earlier.pdf" in html
    assert reverse("apinvoices:invoice_detail", args=[first.invoice.pk]) in html
    assert 'data-code="executable"' in html and "ask the sender" in html
    receipt = DocumentReceipt.objects.get(filename="new.pdf")
    assert receipt.received_by == cast.clerk and receipt.channel == "upload"


def test_json_answer(client, cast):
    client.force_login(cast.clerk)
    response = client.post(URL, {"files": [SimpleUploadedFile("e.pdf", b"")]}, headers={"Accept": "application/json"})
    assert response.json()["results"][0]["code"] == "empty_file"


class CountingBody(io.RawIOBase):
    """A multipart body produced on demand (never held in memory); counts what was read."""

    def __init__(self, boundary: str, file_size: int):
        self.prefix = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"huge.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        ).encode()
        self.suffix = f"\r\n--{boundary}--\r\n".encode()
        self.file_size = file_size
        self.total = len(self.prefix) + file_size + len(self.suffix)
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.total - self.read_bytes)
        if n <= 0:
            return 0
        start, out = self.read_bytes, bytearray()
        body_end = len(self.prefix) + self.file_size
        pos = start
        while len(out) < n:
            if pos < len(self.prefix):
                piece = self.prefix[pos : pos + n - len(out)]
            elif pos < body_end:
                piece = b"0" * min(n - len(out), body_end - pos)
            else:
                piece = self.suffix[pos - body_end : pos - body_end + n - len(out)]
            out += piece
            pos += len(piece)
        buffer[:n] = out
        self.read_bytes += n
        return n


def _post_stream(client, body, boundary):
    return client.generic(
        "POST",
        URL,
        b"x",
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"HX-Request": "true", "X-File-Name": "huge.pdf"},
        **{"wsgi.input": body, "CONTENT_LENGTH": str(body.total)},
    )


def test_a_200_mb_upload_is_refused_without_reading_the_body(client, cast):
    client.force_login(cast.clerk)
    body = CountingBody("BOUNDARY", 200 * 1024 * 1024)
    tracemalloc.start()
    try:
        response = _post_stream(client, body, "BOUNDARY")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert 'data-code="too_large"' in response.content.decode()
    assert body.read_bytes == 0  # Content-Length alone decided
    assert peak < 5 * 1024 * 1024
    assert Document.objects.count() == 0


def test_an_upload_growing_past_the_limit_is_cut_off_while_streaming(client, cast, settings):
    """Content-Length within the allowance, but the file part itself exceeds the limit: the
    handler stops the parse as soon as the limit is passed."""
    settings.AP_MAX_UPLOAD_BYTES = 1024 * 1024
    client.force_login(cast.clerk)
    from apinvoices.ingestion.uploads import FRAMING_ALLOWANCE_BYTES

    body = CountingBody("B2", 1024 * 1024 + 40 * 1024)
    assert body.total <= settings.AP_MAX_UPLOAD_BYTES + FRAMING_ALLOWANCE_BYTES  # passes the first gate
    response = _post_stream(client, body, "B2")
    assert 'data-code="too_large"' in response.content.decode()
    assert Document.objects.count() == 0


def test_mail_without_invoice_is_listed_for_clerks(client, cast):
    InboundMail.objects.create(
        account="ap@x", folder="INBOX", uidvalidity=1, uid=7, sender="someone@vendor.test",
        subject="Statement of account", status=InboundMail.Status.NO_INVOICE, reason="The message has no attachment.",
    )
    client.force_login(cast.clerk)
    html = client.get(URL).content.decode()
    assert "Statement of account" in html and "no attachment" in html


@pytest.fixture
def locked_invoice():
    result = document_ingest(data=encrypted_pdf("pw", password="Tr1cky!"), filename="locked.pdf", channel=Channel.UPLOAD)
    assert isinstance(result, Accepted)
    return result.invoice


def test_a_wrong_password_says_so_and_changes_nothing(client, cast, locked_invoice, caplog):
    client.force_login(cast.clerk)
    url = reverse("apinvoices:invoice_password", args=[locked_invoice.pk])
    with caplog.at_level(logging.DEBUG):
        response = client.post(url, {"password": "guess-1"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "does not open the PDF" in response.content.decode()
    locked_invoice.refresh_from_db()
    assert locked_invoice.state == Invoice.State.PASSWORD_NEEDED
    assert locked_invoice.document.password_ciphertext == ""
    assert "guess-1" not in caplog.text


def test_the_right_password_is_kept_encrypted_and_extraction_is_queued(
    client, cast, locked_invoice, caplog, settings, django_capture_on_commit_callbacks
):
    settings.AP_EXTRACT_ON_INGEST = True
    settings.AP_EXTRACT_TASK = "apinvoices.tests.ingestion.test_service.record_extraction"
    from apinvoices.tests.ingestion.test_service import QUEUED

    QUEUED.clear()
    client.force_login(cast.clerk)
    url = reverse("apinvoices:invoice_password", args=[locked_invoice.pk])
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"password": "Tr1cky!"})
    assert response.status_code == 302
    locked_invoice.refresh_from_db()
    document = locked_invoice.document
    assert locked_invoice.state == Invoice.State.EXTRACTING
    assert "Tr1cky!" not in document.password_ciphertext
    assert decrypt_secret(document.password_ciphertext) == "Tr1cky!"
    assert QUEUED == [locked_invoice.pk]
    assert "Tr1cky!" not in caplog.text
    assert not locked_invoice.events.filter(message__contains="Tr1cky!").exists()


def test_password_endpoint_needs_edit_permission(client, cast, locked_invoice):
    client.force_login(cast.auditor)
    url = reverse("apinvoices:invoice_password", args=[locked_invoice.pk])
    assert client.post(url, {"password": "Tr1cky!"}).status_code == 403
