"""Mail import against a real Dovecot on 127.0.0.1: exactly-once under every failure we know."""

from __future__ import annotations

import imaplib
import threading
from email.message import EmailMessage

import pytest
from django.db import connection

from apinvoices.ingestion.imap import ImapConfigError, MailboxConfig, imap_connect, poll_mailbox
from apinvoices.ingestion.service import document_ingest
from apinvoices.models import Channel, Document, DocumentReceipt, InboundMail, Invoice
from apinvoices.tests.samples.bad_inputs import good_png, lying_mail

pytestmark = [pytest.mark.imap, pytest.mark.usefixtures("ingest_only")]

@pytest.fixture
def mailbox(dovecot):
    user = dovecot.new_user()
    return MailboxConfig(host="127.0.0.1", port=dovecot.imap_port, security="plain", user=user, password="secret")


@pytest.fixture(scope="session")
def corpus_pdfs(corpus_dir):
    pdfs = sorted((corpus_dir / "invoice2data-compare").rglob("*.pdf"))
    assert len(pdfs) >= 4
    return pdfs


def make_mail(*attachments, message_id=None, subject="Invoice", inline_logo=False) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Billing <billing@supplier.test>"
    msg["To"] = "ap@example.test"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content("Dear customer, please find our invoice attached.")
    if inline_logo:
        msg.add_alternative('<p>Invoice attached</p><img src="cid:logo">', subtype="html")
        msg.get_payload()[1].add_related(good_png(7, size=(40, 20)), "image", "png", cid="<logo>")
    for path in attachments:
        msg.add_attachment(path.read_bytes(), maintype="application", subtype="pdf", filename=path.name)
    return msg.as_bytes()


def folder_uids(dovecot, config, folder):
    conn = imap_connect(config)
    try:
        conn.select(folder)
        typ, data = conn.uid("SEARCH", "ALL")
        return data[0].split()
    finally:
        conn.logout()


@pytest.mark.django_db
def test_a_mail_with_two_invoices_imports_eml_and_both_and_moves_it(dovecot, mailbox, corpus_pdfs):
    dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[0], corpus_pdfs[1], message_id="<m1@supplier.test>", inline_logo=True))

    report = poll_mailbox(mailbox)

    mail = InboundMail.objects.get()
    assert mail.status == InboundMail.Status.IMPORTED and mail.moved
    assert mail.message_id == "<m1@supplier.test>" and mail.sender == "billing@supplier.test"
    eml = mail.eml
    assert eml.kind == Document.Kind.EMAIL
    raw = eml.file.read()
    assert b"Received:" in raw or b"Delivered-To:" in raw  # the message exactly as the server had it
    attachments = Document.objects.filter(parent=eml).order_by("original_filename")
    assert [d.original_filename for d in attachments] == sorted(p.name for p in corpus_pdfs[:2])
    assert Invoice.objects.count() == 2
    assert "skipped" in mail.reason  # the inline logo
    assert any("skipped" in line for line in report.messages[0].lines)
    assert folder_uids(dovecot, mailbox, "INBOX") == []
    assert len(folder_uids(dovecot, mailbox, "Processed")) == 1


@pytest.mark.django_db
def test_a_poll_out_of_time_leaves_the_rest_in_the_folder(dovecot, mailbox, corpus_pdfs):
    for n in range(2):
        dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[n], message_id=f"<late{n}@supplier.test>"))

    late = poll_mailbox(mailbox, budget_seconds=0)
    assert late.deferred == 2 and not late.messages and not InboundMail.objects.exists()
    assert len(folder_uids(dovecot, mailbox, "INBOX")) == 2

    done = poll_mailbox(mailbox)
    assert done.deferred == 0 and InboundMail.objects.count() == 2
    assert folder_uids(dovecot, mailbox, "INBOX") == []


@pytest.mark.django_db
def test_lying_content_types_are_judged_by_content(dovecot, mailbox, corpus_pdfs):
    dovecot.deliver(mailbox.user, lying_mail(pdf=corpus_pdfs[2].read_bytes()))
    poll_mailbox(mailbox)
    mail = InboundMail.objects.get()
    assert mail.status == InboundMail.Status.IMPORTED
    doc = Document.objects.get(parent=mail.eml)
    assert doc.original_filename == "scan.dat" and doc.kind == Document.Kind.PDF
    assert "invoice.pdf: refused (executable)" in mail.reason


@pytest.mark.django_db
def test_a_mail_without_invoice_is_recorded_as_no_invoice(dovecot, mailbox):
    dovecot.deliver(mailbox.user, make_mail(message_id="<hello@supplier.test>", subject="Just saying hi"))
    poll_mailbox(mailbox)
    mail = InboundMail.objects.get()
    assert mail.status == InboundMail.Status.NO_INVOICE and mail.moved
    assert Invoice.objects.count() == 0
    assert len(folder_uids(dovecot, mailbox, "Processed")) == 1


@pytest.mark.django_db
def test_the_same_mail_delivered_twice_is_imported_once(dovecot, mailbox, corpus_pdfs):
    mail = make_mail(corpus_pdfs[0], message_id="<twice@supplier.test>")
    dovecot.deliver(mailbox.user, mail)
    dovecot.deliver(mailbox.user, mail)
    poll_mailbox(mailbox)
    assert InboundMail.objects.count() == 2
    assert Document.objects.filter(kind=Document.Kind.PDF).count() == 1
    assert Invoice.objects.count() == 1
    second = InboundMail.objects.order_by("pk").last()
    assert "Same Message-ID" in second.reason and second.moved
    assert len(folder_uids(dovecot, mailbox, "Processed")) == 2


@pytest.mark.django_db
def test_a_repoll_after_a_crash_between_commit_and_move_only_moves(dovecot, mailbox, corpus_pdfs):
    dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[0], corpus_pdfs[1], message_id="<crash@supplier.test>"))
    poll_mailbox(mailbox, move=False)  # the crash: committed, not moved
    assert InboundMail.objects.get().moved is False
    assert len(folder_uids(dovecot, mailbox, "INBOX")) == 1
    counts = (Document.objects.count(), DocumentReceipt.objects.count())

    report = poll_mailbox(mailbox)

    assert [m.status for m in report.messages] == ["moved_only"]
    assert (Document.objects.count(), DocumentReceipt.objects.count()) == counts
    assert InboundMail.objects.get().moved is True
    assert folder_uids(dovecot, mailbox, "INBOX") == []


@pytest.mark.django_db
def test_a_uidvalidity_reset_does_not_import_again(dovecot, mailbox, corpus_pdfs):
    """GIVEN two imported mails left in INBOX (not moved) WHEN Dovecot loses its index
    (UIDVALIDITY changes, UIDs restart) THEN a poll imports nothing new and moves both."""
    dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[0], message_id="<r1@supplier.test>"))
    dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[1]))  # no Message-ID: hashes must hold
    first = poll_mailbox(mailbox, move=False)
    docs, invoices = Document.objects.count(), Invoice.objects.count()

    dovecot.stop()
    dovecot.forget_index(mailbox.user)
    dovecot.start()
    second = poll_mailbox(mailbox)

    assert second.uidvalidity != first.uidvalidity
    assert (Document.objects.count(), Invoice.objects.count()) == (docs, invoices)
    assert InboundMail.objects.filter(uidvalidity=second.uidvalidity).count() == 2
    assert folder_uids(dovecot, mailbox, "INBOX") == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the roles for later tests
def test_two_pollers_at_once_import_each_document_once(dovecot, mailbox, corpus_pdfs):
    for n, pdf in enumerate(corpus_pdfs[:4]):
        dovecot.deliver(mailbox.user, make_mail(pdf, message_id=f"<par{n}@supplier.test>"))
    barrier = threading.Barrier(2)
    errors = []

    def poller():
        try:
            barrier.wait()
            poll_mailbox(mailbox)
        except Exception as err:
            errors.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert InboundMail.objects.count() == 4
    assert Document.objects.filter(kind=Document.Kind.PDF).count() == 4
    assert Invoice.objects.count() == 4
    assert folder_uids(dovecot, mailbox, "INBOX") == []
    assert len(folder_uids(dovecot, mailbox, "Processed")) == 4


@pytest.mark.django_db
def test_the_same_pdf_by_mail_and_by_upload_is_one_document_with_two_receipts(dovecot, mailbox, corpus_pdfs, cast):
    pdf = corpus_pdfs[3]
    dovecot.deliver(mailbox.user, make_mail(pdf, message_id="<both@supplier.test>"))
    poll_mailbox(mailbox)
    document_ingest(data=pdf.read_bytes(), filename=pdf.name, channel=Channel.UPLOAD, received_by=cast.clerk)
    doc = Document.objects.get(kind=Document.Kind.PDF)
    assert sorted(doc.receipts.values_list("channel", "is_duplicate")) == [("email", False), ("upload", True)]


@pytest.mark.django_db
def test_one_broken_message_does_not_stop_the_batch(dovecot, mailbox, corpus_pdfs):
    dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[0], message_id="<ok1@supplier.test>"))
    conn = imap_connect(mailbox)
    conn.append("INBOX", None, None, b"\x00\x01 this is not a mail at all\r\n")
    conn.logout()
    dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[1], message_id="<ok2@supplier.test>"))
    poll_mailbox(mailbox)
    statuses = list(InboundMail.objects.order_by("uid").values_list("status", flat=True))
    assert statuses[0] == "imported" and statuses[2] == "imported"
    assert statuses[1] in ("failed", "no_invoice")
    assert Invoice.objects.count() == 2
    assert folder_uids(dovecot, mailbox, "INBOX") == []


def test_plain_imap_is_refused_except_on_loopback():
    config = MailboxConfig(host="mail.example.com", port=143, security="plain", user="u", password="p")
    with pytest.raises(ImapConfigError, match="only allowed"):
        imap_connect(config)


@pytest.mark.django_db
def test_wrong_password_fails_loudly(dovecot, mailbox):
    bad = MailboxConfig(host="127.0.0.1", port=dovecot.imap_port, security="plain", user=mailbox.user, password="nope")
    with pytest.raises(imaplib.IMAP4.error):
        poll_mailbox(bad)


@pytest.mark.django_db
def test_poll_mailbox_command_prints_a_line_per_attachment(dovecot, mailbox, corpus_pdfs, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.AP_IMAP_HOST, settings.AP_IMAP_PORT, settings.AP_IMAP_SECURITY = "127.0.0.1", mailbox.port, "plain"
    settings.AP_IMAP_USER, settings.AP_IMAP_PASSWORD = mailbox.user, "secret"
    dovecot.deliver(mailbox.user, make_mail(corpus_pdfs[0], message_id="<cmd@supplier.test>"))
    out = StringIO()
    call_command("poll_mailbox", stdout=out)
    assert out.getvalue().startswith(f"accepted uid 1 '{corpus_pdfs[0].name}' -> document")


@pytest.mark.django_db
def test_an_attachment_near_the_limit_is_imported_although_the_mail_is_bigger(dovecot, mailbox, corpus_pdfs, settings):
    pdf = max(corpus_pdfs, key=lambda p: p.stat().st_size)
    settings.AP_MAX_UPLOAD_BYTES = pdf.stat().st_size + 1024
    raw = make_mail(pdf, message_id="<big@supplier.test>")
    assert len(raw) > settings.AP_MAX_UPLOAD_BYTES  # base64 makes the message a third larger
    dovecot.deliver(mailbox.user, raw)
    poll_mailbox(mailbox)
    assert InboundMail.objects.get().status == InboundMail.Status.IMPORTED
    assert Document.objects.get(kind=Document.Kind.PDF).original_filename == pdf.name


@pytest.mark.django_db
def test_non_ascii_subject_and_attachment_name_are_decoded(dovecot, mailbox, corpus_pdfs):
    msg = EmailMessage()
    msg["From"] = "Buchhaltung <rechnung@lieferant.test>"
    msg["To"] = "ap@example.test"
    msg["Subject"] = "Rechnung für März"
    msg["Message-ID"] = "<umlaut@lieferant.test>"
    msg.set_content("Anbei unsere Rechnung.")
    msg.add_attachment(corpus_pdfs[0].read_bytes(), maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    dovecot.deliver(mailbox.user, msg.as_bytes())
    poll_mailbox(mailbox)
    mail = InboundMail.objects.get()
    assert mail.subject == "Rechnung für März"
    assert Document.objects.get(kind=Document.Kind.PDF).original_filename == "Rechnung März.pdf"


@pytest.mark.django_db
def test_an_empty_mailbox_is_a_quiet_poll(dovecot, mailbox):
    report = poll_mailbox(mailbox)
    assert report.messages == [] and report.uidvalidity
    assert InboundMail.objects.count() == 0
