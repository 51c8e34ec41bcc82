"""Chat notifications: Slack and Teams webhook payloads to local servers; failures never block."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.tests.factories import InvoiceFactory, VendorFactory
from approvals.models import ApprovalStep
from approvals.services.decisions import approval_step_decide
from approvals.services.reminders import approval_steps_escalate
from approvals.services.routing import invoice_route
from tests.servers.webhook import WebhookServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook():
    server = WebhookServer().start()
    yield server
    server.stop()


def route(capture, *, vendor_name="Acme <Parts> & Co") -> Invoice:
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW, vendor=VendorFactory(name=vendor_name),
                             net_amount=None, tax_amount=None, total_amount=Decimal("80.50"), invoice_number="INV-1")
    with capture(execute=True):
        invoice_route(invoice=invoice, source="test")
    return invoice


def test_slack_payload_for_a_new_step(cast, single_rule, hook, django_capture_on_commit_callbacks):
    single_rule.notify_webhook_url = f"{hook.base_url}/services/T000/B000/XXXX"
    single_rule.save()
    invoice = route(django_capture_on_commit_callbacks)
    (request,) = hook.requests
    assert request["path"] == "/services/T000/B000/XXXX" and request["content_type"] == "application/json"
    body = request["json"]
    assert body["text"].startswith("Approval needed from")
    section = body["blocks"][0]["text"]["text"]
    # Slack control characters in user text are escaped; the amount is a decimal string.
    assert "Acme &lt;Parts&gt; &amp; Co" in section and "80.50 EUR" in section
    assert body["blocks"][1]["elements"][0]["url"].endswith(
        f"/approvals/steps/{ApprovalStep.objects.get(invoice=invoice).pk}/"
    )


def test_teams_payload_for_an_escalation(cast, single_rule, hook, django_capture_on_commit_callbacks):
    invoice = route(django_capture_on_commit_callbacks)
    single_rule.notify_webhook_url = f"{hook.base_url}/webhookb2/abc@def/IncomingWebhook/123/456"
    single_rule.save()
    ApprovalStep.objects.filter(invoice=invoice).update(activated_at=timezone.now() - timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        created, _skipped = approval_steps_escalate()
    assert len(created) == 1
    (request,) = hook.requests
    card = request["json"]
    assert card["@type"] == "MessageCard" and card["title"].startswith("Escalated to")
    facts = {f["name"]: f["value"] for f in card["sections"][0]["facts"]}
    assert facts["Vendor"] == "Acme <Parts> & Co" and facts["Total"] == "80.50 EUR"


def test_failing_webhook_is_logged_on_the_timeline_and_does_not_block(cast, single_rule, hook,
                                                                      django_capture_on_commit_callbacks):
    hook.status = 500
    single_rule.notify_webhook_url = f"{hook.base_url}/services/broken"
    single_rule.save()
    invoice = route(django_capture_on_commit_callbacks)
    assert len(hook.requests) == 1
    note = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.NOTE)
    assert note.source == "task:webhook" and "500" in note.message
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.AWAITING_APPROVAL
    approval_step_decide(step=ApprovalStep.objects.get(invoice=invoice), actor=cast.approver, decision="approve")
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.APPROVED


def test_unreachable_webhook_is_logged_too(cast, single_rule, hook, django_capture_on_commit_callbacks):
    url = f"{hook.base_url}/services/gone"
    hook.stop()
    single_rule.notify_webhook_url = url
    single_rule.save()
    invoice = route(django_capture_on_commit_callbacks)
    assert InvoiceEvent.objects.filter(invoice=invoice, kind=InvoiceEvent.Kind.NOTE, source="task:webhook").exists()
    hook.start()  # the fixture stops it again


def test_rule_without_webhook_posts_nothing(cast, single_rule, hook, django_capture_on_commit_callbacks):
    route(django_capture_on_commit_callbacks)
    assert hook.requests == []
