"""A clerk uploads three files at once: one new, one already received, one refused."""

from __future__ import annotations

import pytest

from apinvoices.ingestion.service import document_ingest
from apinvoices.models import Channel, Document, Invoice
from apinvoices.tests.samples.bad_inputs import ELF_BYTES, good_pdf

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_upload_three_files_shows_a_result_for_each(page, live_server, login_as, screenshot, cast, settings, corpus_dir, tmp_path):
    settings.AP_EXTRACT_ON_INGEST = False
    earlier = document_ingest(data=good_pdf("from-the-scanner"), filename="scanner-0042.pdf", channel=Channel.FOLDER)
    new_pdf = corpus_dir / "invoice2data-compare" / "tests" / "compare" / "AmazonWebServices.pdf"
    again = tmp_path / "copy of scan.pdf"
    again.write_bytes(good_pdf("from-the-scanner"))
    fake = tmp_path / "invoice-march.pdf"
    fake.write_bytes(ELF_BYTES)

    login_as(cast.clerk)
    page.get_by_role("link", name="Upload").click()
    page.wait_for_url(f"{live_server.url}/upload/")
    page.set_input_files("#upload-input", [str(new_pdf), str(again), str(fake)])
    page.wait_for_function("document.querySelectorAll('#upload-list li[data-outcome]').length === 3")

    accepted = page.locator("li[data-outcome=accepted]")
    duplicate = page.locator("li[data-outcome=duplicate]")
    refused = page.locator("li[data-outcome=refused]")
    assert accepted.locator(".upload-name").inner_text() == "AmazonWebServices.pdf"
    assert duplicate.locator(".upload-name").inner_text() == "copy of scan.pdf"
    assert "scanner-0042.pdf" in duplicate.inner_text()
    assert refused.locator(".upload-name").inner_text() == "invoice-march.pdf"
    assert "program, not a document" in refused.inner_text()
    screenshot()

    new_invoice = Invoice.objects.get(document__original_filename="AmazonWebServices.pdf")
    assert accepted.get_by_role("link").get_attribute("href") == f"/invoices/{new_invoice.pk}/"
    assert duplicate.get_by_role("link").get_attribute("href") == f"/invoices/{earlier.invoice.pk}/"
    assert Document.objects.count() == 2

    accepted.get_by_role("link").click()
    page.wait_for_url(f"{live_server.url}/invoices/{new_invoice.pk}/")
    assert "Received" in page.content()
