from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.db.models.signals import pre_save

from apinvoices.audit import audit_actor
from apinvoices.models import Invoice
from apinvoices.states import invoice_transition
from apinvoices.tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db


def test_nested_actor_inside_the_middleware_context_leaks_no_receiver(cast):
    invoice = InvoiceFactory(state=Invoice.State.RECEIVED)
    before = len(pre_save.receivers)
    with audit_actor(cast.clerk):  # as AuditlogMiddleware does around every request
        with audit_actor(cast.second_clerk):
            invoice_transition(invoice=invoice, to=Invoice.State.EXTRACTING, actor=cast.second_clerk)
        invoice_transition(invoice=invoice, to=Invoice.State.NEEDS_REVIEW, actor=cast.clerk)
    assert len(pre_save.receivers) == before
    actors = list(LogEntry.objects.get_for_object(invoice).order_by("timestamp").values_list("actor__username", flat=True))
    assert actors[-2:] == ["clerk2", "clerk"]
