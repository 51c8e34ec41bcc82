"""E-mail approval over real SMTP: the message, its links, and every way a link must fail safely.

Django sends through its SMTP backend to an aiosmtpd server on 127.0.0.1; the tests parse the
bytes that arrived, take the links out of the message and open them with a CSRF-enforcing client.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent, InvoiceException
from apinvoices.tests.factories import InvoiceFactory, VendorFactory
from approvals.models import ApprovalStep, ApprovalToken
from approvals.services.decisions import approval_step_decide
from approvals.services.delegation import delegation_create
from approvals.services.links import LINK_SALT
from approvals.services.routing import invoice_route
from erp_integration.models import ErpPosting

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]
S = ApprovalStep.State
LINK_RE = re.compile(r"https?://[^\s\"'<>]+/approvals/email/[^\s\"'<>/]+/")


def route_and_receive(smtp, *, vendor_name="Acme Supplies GmbH", total="80.00", capture):
    vendor = VendorFactory(name=vendor_name)
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, vendor=vendor, vendor_name=vendor_name,
                             net_amount=None, tax_amount=None, total_amount=Decimal(total), invoice_number="INV-2026-0042")
    with capture(execute=True):
        invoice_route(invoice=invoice, source="test")
    messages = smtp.wait_for(1)
    assert len(messages) == 1, "the approver should get exactly one e-mail"
    return invoice, messages[0]


def links_of(message) -> dict[str, str]:
    parsed = message.parsed()
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    approve = re.search(r"Approve: (\S+)", text).group(1)
    reject = re.search(r"Reject:\s+(\S+)", text).group(1)
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert set(LINK_RE.findall(html)) >= {approve, reject}, "the HTML part carries the same two links"
    return {"approve": approve, "reject": reject}


def path_of(url: str) -> str:
    assert url.startswith(settings.AP_BASE_URL)
    return url[len(settings.AP_BASE_URL.rstrip("/")):]


def post(client: Client, url: str, **data):
    page = client.get(path_of(url))
    token = client.cookies["csrftoken"].value
    return page, client.post(path_of(url), {"csrfmiddlewaretoken": token, **data})


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True, HTTP_USER_AGENT="MailClient/1.0", REMOTE_ADDR="198.51.100.9")


def test_pending_step_sends_plain_and_html_mail_with_key_facts(cast, single_rule, smtp, django_capture_on_commit_callbacks):
    vendor = VendorFactory(name="Acme Supplies GmbH")
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, vendor=vendor, net_amount=None, tax_amount=None,
                             total_amount=Decimal("1234.50"), currency="EUR", invoice_number="INV-7")
    single_rule.max_amount = Decimal("5000")
    single_rule.save()
    InvoiceException.objects.create(invoice=invoice, kind=InvoiceException.Kind.AMOUNT_PATTERN,
                                    severity=InvoiceException.Severity.WARNING,
                                    message="Amount is 4x this vendor's usual")
    with django_capture_on_commit_callbacks(execute=True):
        invoice_route(invoice=invoice, source="test")
    (message,) = smtp.wait_for(1)
    parsed = message.parsed()
    assert message.rcpt_tos == (cast.approver.email,)
    # Folding of the encoded-word (the en dash) may leave a leading blank; clients drop it.
    assert parsed["Subject"].strip() == "Approve invoice INV-7 from Acme Supplies GmbH – 1,234.50 EUR"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    for fact in ("Acme Supplies GmbH", "INV-7", "1,234.50 EUR", invoice.due_date.isoformat(),
                 "Amount is 4x this vendor's usual"):
        assert fact in text
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert "Amount is 4x this vendor&#x27;s usual" in html
    links = links_of(message)
    assert links["approve"] != links["reject"]
    assert ApprovalToken.objects.filter(step__invoice=invoice).count() == 2
    # Only hashes are stored: the token id in the link is nowhere in the database.
    payload = signing.loads(path_of(links["approve"]).split("/")[3], salt=LINK_SALT)
    assert not ApprovalToken.objects.filter(token_hash=payload["t"]).exists()


def test_user_controlled_text_is_escaped_in_the_html_mail(cast, single_rule, smtp, django_capture_on_commit_callbacks):
    nasty = '<script>alert("x")</script> & Co'
    _invoice, message = route_and_receive(smtp, vendor_name=nasty, capture=django_capture_on_commit_callbacks)
    html = message.parsed().get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "\n" not in message.parsed()["Subject"]


def test_get_shows_confirmation_and_changes_nothing_then_post_approves(
    cast, single_rule, smtp, browser, django_capture_on_commit_callbacks
):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["approve"]
    page = browser.get(path_of(url))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Approve this invoice?" in body and "Acme Supplies GmbH" in body and "INV-2026-0042" in body
    step = ApprovalStep.objects.get(invoice=invoice)
    assert step.state == S.PENDING
    assert ApprovalToken.objects.filter(step=step, used_at__isnull=False).count() == 0

    _page, done = post(browser, url)
    assert done.status_code == 200 and "Approval recorded" in done.content.decode()
    invoice.refresh_from_db()
    step.refresh_from_db()
    assert invoice.state == Invoice.State.APPROVED
    assert (step.state, step.decided_by, step.decided_via) == (S.APPROVED, cast.approver, "email")
    assert ErpPosting.objects.filter(invoice=invoice).count() == 1
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.APPROVAL)
    assert (event.actor, event.ip_address, event.user_agent, event.params["via"]) == (
        cast.approver, "198.51.100.9", "MailClient/1.0", "email"
    )


def test_post_without_csrf_token_is_refused(cast, single_rule, smtp, browser, django_capture_on_commit_callbacks):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    response = browser.post(path_of(links_of(message)["approve"]))
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL


def test_replaying_a_used_link_fails_safely(cast, single_rule, smtp, browser, django_capture_on_commit_callbacks):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["approve"]
    post(browser, url)
    events = InvoiceEvent.objects.filter(invoice=invoice).count()
    again = browser.get(path_of(url))
    assert again.status_code == 410 and "already used" in again.content.decode()
    replay = browser.post(path_of(url), {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert replay.status_code == 410
    assert InvoiceEvent.objects.filter(invoice=invoice).count() == events


def test_expired_signature_fails_even_if_the_token_row_is_valid(
    cast, single_rule, smtp, browser, django_capture_on_commit_callbacks
):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["approve"]
    signed = path_of(url).split("/")[3]
    payload = signing.loads(signed, salt=LINK_SALT)
    age = timedelta(days=settings.AP_APPROVAL_LINK_MAX_AGE_DAYS, minutes=1).total_seconds()

    class SignedLongAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time() - age))

    old = SignedLongAgo(salt=LINK_SALT).sign_object(payload)
    response = browser.get(f"/approvals/email/{old}/")
    assert response.status_code == 410 and "expired" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL


def test_expired_token_row_fails(cast, single_rule, smtp, browser, django_capture_on_commit_callbacks):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["approve"]
    browser.get(path_of(url))
    now = timezone.now()
    ApprovalToken.objects.filter(step__invoice=invoice).update(
        created_at=now - timedelta(days=8), expires_at=now - timedelta(seconds=1)
    )
    response = browser.post(path_of(url), {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert ApprovalStep.objects.get(invoice=invoice).state == S.PENDING


def test_tampered_signature_fails(cast, single_rule, smtp, browser, django_capture_on_commit_callbacks):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["approve"]
    flipped = url[:-2] + ("A" if url[-2] != "A" else "B") + "/"
    response = browser.get(path_of(flipped))
    assert response.status_code == 400 and "not valid" in response.content.decode()
    # Swapping the action inside the payload breaks the signature as well.
    payload = signing.loads(path_of(url).split("/")[3], salt=LINK_SALT)
    forged = signing.dumps({**payload, "a": "reject"}, salt=LINK_SALT, key="not-the-secret-key")
    assert browser.get(f"/approvals/email/{forged}/").status_code == 400
    assert ApprovalStep.objects.get(invoice=invoice).state == S.PENDING


def test_another_approvers_link_cannot_act_for_you(cast, single_rule, smtp, django_capture_on_commit_callbacks):
    """GIVEN approver2 signed in WHEN they open the approver's link THEN it refuses to act."""
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["approve"]
    other = Client(enforce_csrf_checks=True)
    other.force_login(cast.second_approver)
    response = other.get(path_of(url))
    assert response.status_code == 403 and "belongs to another approver" in response.content.decode()
    # A token re-signed for another user id is refused (the token row is bound to the approver).
    payload = signing.loads(path_of(url).split("/")[3], salt=LINK_SALT)
    rebound = signing.dumps({**payload, "u": cast.second_approver.pk}, salt=LINK_SALT)
    assert Client().get(f"/approvals/email/{rebound}/").status_code == 400
    assert ApprovalStep.objects.get(invoice=invoice).state == S.PENDING


def test_link_of_a_reassigned_step_says_so(cast, single_rule, smtp, browser, django_capture_on_commit_callbacks):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["approve"]
    delegation_create(user=cast.approver, delegate=cast.second_approver, starts_on=timezone.localdate(),
                      ends_on=timezone.localdate())
    response = browser.get(path_of(url))
    assert response.status_code == 410 and "handed to someone else" in response.content.decode()
    assert ApprovalStep.objects.get(invoice=invoice).state == S.PENDING


def test_link_of_a_step_decided_elsewhere_says_so(cast, single_rule, smtp, browser, django_capture_on_commit_callbacks):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    reject_url = links_of(message)["reject"]
    approval_step_decide(step=ApprovalStep.objects.get(invoice=invoice), actor=cast.approver, decision="approve")
    response = browser.get(path_of(reject_url))
    body = response.content.decode()
    assert response.status_code == 410 and "no longer open" in body and "approved on" in body
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.APPROVED


def test_reject_link_needs_a_comment_then_rejects(cast, single_rule, smtp, browser, django_capture_on_commit_callbacks):
    invoice, message = route_and_receive(smtp, capture=django_capture_on_commit_callbacks)
    url = links_of(message)["reject"]
    _page, refused = post(browser, url, comment="")
    assert refused.status_code == 400 and "say why" in refused.content.decode()
    assert ApprovalStep.objects.get(invoice=invoice).state == S.PENDING
    assert ApprovalToken.objects.filter(step__invoice=invoice, used_at__isnull=False).count() == 0
    done = browser.post(path_of(url), {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
                                       "comment": "Duplicate of INV-41"})
    assert done.status_code == 200 and "Invoice rejected" in done.content.decode()
    invoice.refresh_from_db()
    assert (invoice.state, invoice.state_reason) == (Invoice.State.REJECTED, "Duplicate of INV-41")


def test_mail_server_down_does_not_lose_the_other_mails(cast, single_rule, smtp, settings):
    """GIVEN two pending steps and a mail server that refuses the first recipient
    WHEN the batch notification task runs THEN the failing step is re-queued alone and the
    other mail still goes out."""
    from approvals.services.notifications import approval_steps_notify_now

    invoices = [InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, net_amount=None, tax_amount=None,
                               total_amount=Decimal("10.00")) for _ in range(2)]
    for invoice in invoices:
        invoice_route(invoice=invoice, source="test")  # on_commit does not fire here: nothing sent yet
    steps = [ApprovalStep.objects.get(invoice=i).pk for i in invoices]
    cast.approver.email = "nobody@refused.test"
    cast.approver.save()
    ApprovalStep.objects.filter(pk=steps[1]).update(approver=cast.second_approver)
    result = approval_steps_notify_now(step_ids=steps, kind="new", webhook_step_ids=[])
    assert result == {"sent": 1, "retrying": 1, "webhooks": 0}
    received = smtp.wait_for(1)
    assert [m.rcpt_tos for m in received] == [(cast.second_approver.email,)]
    from django_q.models import OrmQ

    (queued,) = OrmQ.objects.all()
    assert (queued.task["func"], queued.task["args"]) == ("approvals.tasks.send_step_email", (steps[0], "new"))
