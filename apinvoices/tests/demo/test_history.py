"""The demo's invoices get weeks of history, in the order it happened, without touching others."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from approvals.models import ApprovalStep
from approvals.services.decisions import Decision, approval_step_decide
from django.utils import timezone

from apinvoices.demo.history import demo_history_spread
from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.reports import invoice_cycle_times
from apinvoices.services.invoices import invoice_submit_for_approval
from apinvoices.tests.factories import DocumentFactory, InvoiceFactory, VendorFactory
from erp_integration.models import ErpPosting
from erp_integration.services.sending import erp_posting_send

pytestmark = pytest.mark.django_db
S = Invoice.State


def _lived(cast, *, channel: str, issued: date, approve: bool) -> Invoice:
    invoice = InvoiceFactory(document=DocumentFactory(channel=channel), vendor=VendorFactory(), state=S.NEEDS_REVIEW,
                             issue_date=issued, due_date=issued + timedelta(days=30))
    InvoiceEvent.objects.create(invoice=invoice, kind=InvoiceEvent.Kind.RECEIVED, source=channel)
    invoice_submit_for_approval(invoice=invoice, actor=cast.clerk, source="test")
    if approve:
        while step := ApprovalStep.objects.filter(invoice=invoice, state=ApprovalStep.State.PENDING).first():
            approval_step_decide(step=step, actor=step.approver, decision=Decision.APPROVE, comment="OK")
        erp_posting_send(posting_id=ErpPosting.objects.get(invoice=invoice).pk)
    invoice.refresh_from_db()
    return invoice


def _times(invoice):
    return list(invoice.events.order_by("pk").values_list("created_at", flat=True))


def test_posted_demo_invoices_get_a_past_in_order_and_others_are_untouched(cast):
    now = timezone.now()
    posted = _lived(cast, channel="demo", issued=now.date() - timedelta(days=20), approve=True)
    waiting = _lived(cast, channel="demo", issued=now.date() - timedelta(days=20), approve=False)
    foreign = _lived(cast, channel="upload", issued=now.date() - timedelta(days=20), approve=True)
    assert posted.state == S.POSTED and waiting.state == S.AWAITING_APPROVAL
    before_foreign = _times(foreign)

    assert demo_history_spread(channel="demo", seed=7, now=now) == 2

    times = _times(posted)
    assert times == sorted(times), "the order of what happened is kept"
    assert now - timedelta(days=21) < times[0] < now - timedelta(days=15), "received days after the invoice date"
    assert times[-1] - times[0] > timedelta(hours=1), "people act hours apart, not within a second"
    assert times[-1] < now
    waiting_times = _times(waiting)
    assert now - timedelta(days=1) < waiting_times[0] < waiting_times[-1] < now, "still-pending work stays recent"
    for step in ApprovalStep.objects.filter(invoice=waiting, state=ApprovalStep.State.PENDING):
        assert step.activated_at is None or step.activated_at > now - timedelta(days=1)
    assert _times(foreign) == before_foreign, "only the demo channel is moved"
    assert invoice_cycle_times().median > timedelta(hours=1)
