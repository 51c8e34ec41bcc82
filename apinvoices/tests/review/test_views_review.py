"""Review screen, exception queue and vendor pages through the real URL stack."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apinvoices.models import (
    Document,
    Invoice,
    InvoiceEvent,
    InvoiceException,
    VendorBankAccount,
)
from apinvoices.tests.factories import InvoiceFactory, VendorBankAccountFactory, VendorFactory
from apinvoices.tests.review.pdfs import odd_layout_pdf

pytestmark = pytest.mark.django_db
S = Invoice.State
HTMX = {"HTTP_HX_REQUEST": "true"}


def _pdf_invoice(**kwargs) -> Invoice:
    data = odd_layout_pdf(number="QS-1")
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.PDF,
        content_type="application/pdf", original_filename="qs.pdf", channel="upload",
        file=ContentFile(data, name="qs.pdf"),
    )
    return InvoiceFactory(document=document, **kwargs)


def test_page_image_renders_once_and_is_cached_beside_the_untouched_original(client, cast):
    invoice = _pdf_invoice(state=S.NEEDS_REVIEW)
    original = invoice.document.file.read()
    client.force_login(cast.clerk)
    url = reverse("apinvoices:document_page", args=[invoice.document_id, 1])

    response = client.get(url, {"w": "700"})

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    body = b"".join(response.streaming_content)
    cached = Path(settings.MEDIA_ROOT) / "previews" / invoice.document.sha256 / "p1-w900.png"
    assert cached.read_bytes() == body
    with Image.open(cached) as image:
        assert image.width == 900 and abs(image.height - 900 * 842 / 595) <= 1  # A4 in points
    invoice.document.file.open("rb")
    assert invoice.document.file.read() == original
    assert client.get(reverse("apinvoices:document_page", args=[invoice.document_id, 2])).status_code == 404


def test_image_original_is_turned_upright_from_exif(client, cast, tmp_path):
    image = Image.new("RGB", (200, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise: the upright picture is 100 wide, 200 high
    path = tmp_path / "scan.jpg"
    image.save(path, exif=exif)
    data = path.read_bytes()
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.IMAGE,
        content_type="image/jpeg", original_filename="scan.jpg", channel="upload", file=ContentFile(data, name="scan.jpg"),
    )
    InvoiceFactory(document=document)
    client.force_login(cast.clerk)
    response = client.get(reverse("apinvoices:document_page", args=[document.pk, 1]), {"w": "600"})
    from io import BytesIO

    with Image.open(BytesIO(b"".join(response.streaming_content))) as page:
        assert page.size == (600, 1200)


def test_review_screen_has_viewer_editable_fields_and_keyboard_script(client, cast):
    invoice = _pdf_invoice(state=S.NEEDS_REVIEW)
    client.force_login(cast.clerk)
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'id="viewer"' in html and "js/review.js" in html
    assert reverse("apinvoices:invoice_field_edit", args=[invoice.pk, "total_amount"]) in html
    assert "Send to approval" in html

    client.force_login(cast.auditor)
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert "invoice_field_edit" not in html and 'name="value"' not in html and "Send to approval" not in html


def test_htmx_field_edit_returns_the_row_and_triggers_the_exceptions_panel(client, cast):
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW, total_amount=Decimal("150.00"))
    client.force_login(cast.clerk)
    url = reverse("apinvoices:invoice_field_edit", args=[invoice.pk, "total_amount"])

    response = client.post(url, {"value": "119,00"}, **HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "ap:exceptions-changed"
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="field-row') and 'value="119.00"' in html
    invoice.refresh_from_db()
    assert invoice.total_amount == Decimal("119.00")

    bad = client.post(url, {"value": "lots"}, **HTMX)
    assert bad.status_code == 422 and "is not an amount" in bad.content.decode() and 'value="lots"' in bad.content.decode()


def test_exceptions_panel_resolve_and_dismiss_with_htmx(client, cast):
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW)
    exc = InvoiceException.objects.create(invoice=invoice, kind="dates", key="x", severity="warning", message="Odd date")
    client.force_login(cast.clerk)

    refused = client.post(reverse("apinvoices:exception_dismiss", args=[exc.pk]), {"reason": ""}, **HTMX)
    assert refused.status_code == 422
    ok = client.post(reverse("apinvoices:exception_dismiss", args=[exc.pk]), {"reason": "Known"}, **HTMX)
    assert ok.status_code == 200 and 'id="review-actions"' in ok.content.decode() and "Odd date" not in ok.content.decode()
    exc.refresh_from_db()
    assert exc.status == "dismissed"


def _exceptions(n: int):
    vendor = VendorFactory()
    for i in range(n):
        invoice = InvoiceFactory(vendor=vendor, state=S.EXCEPTION)
        InvoiceException.objects.create(invoice=invoice, kind="dates", key="k", severity="warning", message=f"w{i}")
        InvoiceException.objects.create(invoice=invoice, kind="bank_details", key="k", severity="blocking", message=f"b{i}")
    return vendor


@pytest.mark.parametrize("n", [1, 15])
def test_exception_queue_query_count_is_fixed(client, cast, django_assert_num_queries, n):
    _exceptions(n)
    client.force_login(cast.clerk)
    # session, user, groups, page count, page rows (+invoice, vendor), counts by kind, nav counts.
    with django_assert_num_queries(7):
        response = client.get(reverse("apinvoices:exception_list"))
    assert response.status_code == 200
    assert response.context["total"] == 2 * n
    assert {k["value"]: k["total"] for k in response.context["kinds"]} == {"dates": n, "bank_details": n}


def test_exception_queue_filters_by_kind_vendor_and_age(client, cast):
    vendor = _exceptions(2)
    other = InvoiceFactory(state=S.EXCEPTION)
    old = InvoiceException.objects.create(invoice=other, kind="dates", key="o", severity="warning", message="old one")
    InvoiceException.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=20))
    client.force_login(cast.clerk)
    url = reverse("apinvoices:exception_list")

    assert len(client.get(url, {"kind": "dates"}).context["page"].object_list) == 3
    assert len(client.get(url, {"vendor": vendor.pk}).context["page"].object_list) == 4
    assert [e.pk for e in client.get(url, {"age": "older"}).context["page"].object_list] == [old.pk]


def test_exception_queue_keeps_to_invoices_in_work_unless_asked_for_all(client, cast):
    working = InvoiceFactory(state=S.NEEDS_REVIEW)
    posted = InvoiceFactory(state=S.POSTED)
    warning = InvoiceException.objects.create(invoice=working, kind="dates", key="w", severity="warning",
                                              message="weekend")
    blocking = InvoiceException.objects.create(invoice=working, kind="bank_details", key="b",
                                               severity="blocking", message="unverified IBAN")
    left_open = InvoiceException.objects.create(invoice=posted, kind="dates", key="p", severity="warning",
                                                message="weekend, sent on anyway")
    client.force_login(cast.clerk)
    url = reverse("apinvoices:exception_list")

    in_work = client.get(url)
    assert [e.pk for e in in_work.context["page"].object_list] == [blocking.pk, warning.pk], "blocking first"
    assert in_work.context["total"] == 2
    everything = client.get(url, {"scope": "all"})
    assert {e.pk for e in everything.context["page"].object_list} == {blocking.pk, warning.pk, left_open.pk}
    assert everything.context["total"] == 3
    assert client.get(url, {"scope": "bogus"}).context["scope"] == "work"


def test_bulk_dismiss_only_touches_warnings_and_needs_a_reason(client, cast):
    _exceptions(2)
    ids = list(InvoiceException.objects.values_list("pk", flat=True))
    client.force_login(cast.clerk)
    url = reverse("apinvoices:exception_bulk_dismiss")

    client.post(url, {"ids": ids, "reason": ""})
    assert not InvoiceException.objects.exclude(status="open").exists()
    client.post(url, {"ids": ids, "reason": "Dates are fine for this vendor"})

    assert set(InvoiceException.objects.filter(status="dismissed").values_list("kind", flat=True)) == {"dates"}
    # The re-evaluation may close the hand-made blocking findings, but never as dismissed.
    assert not InvoiceException.objects.filter(kind="bank_details", status="dismissed").exists()


@pytest.mark.parametrize("n", [1, 12])
def test_vendor_pages_query_count_is_fixed(client, cast, django_assert_num_queries, n):
    vendor = VendorFactory()
    for i in range(n):
        VendorFactory()
        VendorBankAccount.objects.create(vendor=vendor, iban=f"DE{i:02d}370400440532013000"[:22], entered_by=cast.clerk)
        InvoiceFactory(vendor=vendor, state=S.NEEDS_REVIEW)
    client.force_login(cast.clerk)
    with django_assert_num_queries(6):  # session, user, groups, count, page, nav counts
        assert client.get(reverse("apinvoices:vendor_list")).status_code == 200
    # session, user, groups, vendor, accounts (+users), hints, invoices, history (+actors),
    # users named in the history, nav (the content type is cached after its first use).
    with django_assert_num_queries(10):
        assert client.get(reverse("apinvoices:vendor_detail", args=[vendor.pk])).status_code == 200


def test_verify_is_refused_for_who_entered_it_and_works_for_a_colleague(client, cast):
    vendor = VendorFactory()
    account = VendorBankAccountFactory(vendor=vendor, entered_by=cast.clerk)
    invoice = InvoiceFactory(vendor=vendor, state=S.EXCEPTION, vendor_iban=account.iban)
    url = reverse("apinvoices:bank_account_verify", args=[account.pk])

    client.force_login(cast.clerk)
    response = client.post(url, {"method": "call-back"}, follow=True)
    assert "four-eyes" in response.content.decode()
    account.refresh_from_db()
    assert account.status == "unverified"

    client.force_login(cast.second_clerk)
    assert client.post(url, {"method": ""}, follow=True).context["messages"]
    account.refresh_from_db()
    assert account.status == "unverified"
    client.post(url, {"method": "Call-back to +49 30 1234 on file"})
    account.refresh_from_db()
    invoice.refresh_from_db()
    assert (account.status, account.verified_by) == ("verified", cast.second_clerk)
    assert invoice.state != S.EXCEPTION
    history = client.get(reverse("apinvoices:vendor_detail", args=[vendor.pk])).context["history"]
    assert any(entry.actor == cast.second_clerk for entry in history)


def test_reject_needs_a_reason(client, cast):
    account = VendorBankAccountFactory(entered_by=cast.clerk)
    client.force_login(cast.second_clerk)
    url = reverse("apinvoices:bank_account_reject", args=[account.pk])
    client.post(url, {"reason": ""})
    account.refresh_from_db()
    assert account.status == "unverified"
    client.post(url, {"reason": "Vendor says it is not theirs"})
    account.refresh_from_db()
    assert account.status == "rejected"


def test_send_to_approval_button_moves_the_invoice(client, cast):
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW)
    client.force_login(cast.clerk)
    client.post(reverse("apinvoices:invoice_send", args=[invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.state == S.AWAITING_APPROVAL
    assert InvoiceEvent.objects.filter(invoice=invoice, to_state=S.AWAITING_APPROVAL).exists()


def test_mark_as_duplicate(client, cast):
    first = InvoiceFactory(state=S.NEEDS_REVIEW)
    second = InvoiceFactory(state=S.EXCEPTION, vendor=first.vendor)
    InvoiceException.objects.create(invoice=second, kind="duplicate", key=str(first.pk), severity="blocking",
                                    message="Same number", related_invoice=first)
    client.force_login(cast.clerk)
    html = client.get(reverse("apinvoices:invoice_detail", args=[second.pk])).content.decode()
    assert "Mark as duplicate" in html
    client.post(reverse("apinvoices:invoice_duplicate", args=[second.pk]), {"of": first.pk})
    second.refresh_from_db()
    assert second.state == S.DUPLICATE
    assert not second.exceptions.filter(status="open").exists()


def test_next_goes_to_the_following_invoice_of_the_queue_and_panel_renders(client, cast):
    first = InvoiceFactory(state=S.NEEDS_REVIEW)
    InvoiceFactory(state=S.POSTED)
    third = InvoiceFactory(state=S.EXCEPTION)
    client.force_login(cast.clerk)

    response = client.get(reverse("apinvoices:invoice_next", args=[first.pk]))
    assert response["Location"] == reverse("apinvoices:invoice_detail", args=[third.pk])
    response = client.get(reverse("apinvoices:invoice_next", args=[third.pk]))
    assert response["Location"] == reverse("apinvoices:invoice_detail", args=[first.pk])

    panel = client.get(reverse("apinvoices:invoice_exceptions", args=[first.pk]), **HTMX)
    assert panel.status_code == 200 and 'id="review-actions"' in panel.content.decode()


def test_xml_original_is_shown_as_formatted_text(client, cast):
    data = b'<?xml version="1.0"?><Invoice><ID>X-1</ID><Note>&lt;script&gt;</Note></Invoice>'
    document = Document.objects.create(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=Document.Kind.XML,
        content_type="application/xml", original_filename="x.xml", channel="upload", file=ContentFile(data, name="x.xml"),
    )
    invoice = InvoiceFactory(document=document, state=S.NEEDS_REVIEW)
    client.force_login(cast.clerk)
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'class="xml-text"' in html and "&lt;ID&gt;X-1&lt;/ID&gt;" in html and "<script>" not in html
    assert client.get(reverse("apinvoices:document_page", args=[document.pk, 1])).status_code == 404


def test_words_of_a_page_as_json_and_a_click_fills_the_field_row(client, cast):
    invoice = _pdf_invoice(state=S.NEEDS_REVIEW, invoice_number="")
    client.force_login(cast.clerk)
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert reverse("apinvoices:document_page_words", args=[invoice.document_id, 1]) in html
    assert reverse("apinvoices:invoice_field_pick", args=[invoice.pk, "invoice_number"]) in html

    words = client.get(reverse("apinvoices:document_page_words", args=[invoice.document_id, 1])).json()["words"]
    text, x0, top, x1, bottom = next(w for w in words if w[0] == "QS-1")
    url = reverse("apinvoices:invoice_field_pick", args=[invoice.pk, "invoice_number"])

    response = client.post(url, {"page": "1", "x": str((x0 + x1) / 2), "y": str((top + bottom) / 2)}, **HTMX)

    assert response.status_code == 200 and response["HX-Trigger"] == "ap:exceptions-changed"
    assert 'id="input-invoice_number" name="value" autocomplete="off"\n               value="QS-1"' in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.invoice_number == "QS-1"

    missed = client.post(url, {"page": "1", "x": "590", "y": "5"}, **HTMX)
    assert missed.status_code == 422 and "no word at that spot" in missed.content.decode()
    assert client.get(reverse("apinvoices:document_page_words", args=[invoice.document_id, 3])).status_code == 404

    client.force_login(cast.auditor)
    assert client.post(url, {"page": "1", "x": "1", "y": "1"}, **HTMX).status_code == 403
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert "words.json" not in html and "/pick/" not in html
