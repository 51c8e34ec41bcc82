"""Exporting a payment run moves every payment and invoice in bulk, audited as before."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from apinvoices.exceptions import InvalidTransition
from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.states import invoice_transition
from erp_integration.models import Payment, PaymentRun
from erp_integration.services.payments import payment_run_approve, payment_run_export
from erp_integration.tests.test_payment_runs import posted_invoice, propose

pytestmark = pytest.mark.django_db


def approved_run(cast, n: int) -> PaymentRun:
    invoices = [posted_invoice() for _ in range(n)]
    run = propose(cast.clerk).run
    assert run.payments.count() == n, [i.pk for i in invoices]
    return payment_run_approve(run=run, actor=cast.second_clerk)


def entries(model, pks) -> dict[int, LogEntry]:
    rows = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model),
                                   object_id__in=pks, action=LogEntry.Action.UPDATE)
    return {row.object_id: row for row in rows}


def test_export_writes_one_state_event_one_payment_event_and_audit_entries_per_invoice(cast):
    run = approved_run(cast, 3)
    payments = list(run.payments.order_by("pk"))

    payment_run_export(run=run, actor=cast.second_clerk)

    for payment in payments:
        invoice = Invoice.objects.get(pk=payment.invoice_id)
        assert invoice.state == Invoice.State.SCHEDULED
        assert invoice.state_reason.startswith("Scheduled in payment run “Week 48”")
        state_event, payment_event = InvoiceEvent.objects.filter(
            invoice=invoice, kind__in=["state", "payment"], created_at__gte=run.approved_at,
        ).order_by("created_at", "pk")
        assert (state_event.kind, state_event.from_state, state_event.to_state,
                state_event.actor) == ("state", "posted", "scheduled", cast.second_clerk)
        assert state_event.params == {"run_id": run.pk, "payment_id": payment.pk}
        assert payment_event.kind == "payment" and payment.end_to_end_id in str(payment_event.params)
    invoice_log = entries(Invoice, [p.invoice_id for p in payments])
    payment_log = entries(Payment, [p.pk for p in payments])
    assert len(invoice_log) == len(payment_log) == 3
    for payment in payments:
        inv_entry, pay_entry = invoice_log[payment.invoice_id], payment_log[payment.pk]
        assert inv_entry.actor == pay_entry.actor == cast.second_clerk
        assert inv_entry.changes["state"] == ["posted", "scheduled"]
        assert "state_changed_at" not in inv_entry.changes  # excluded in the registry
        assert pay_entry.changes == {"state": ["proposed", "scheduled"]}
        assert pay_entry.object_repr == str(Payment.objects.get(pk=payment.pk))


def test_audit_entries_match_what_a_row_by_row_transition_writes(cast):
    """The bulk entry of an invoice has the same diff keys as invoice_transition's own."""
    run = approved_run(cast, 1)
    payment = run.payments.get()
    payment_run_export(run=run, actor=cast.second_clerk)
    bulk = entries(Invoice, [payment.invoice_id])[payment.invoice_id]

    other = posted_invoice()
    invoice_transition(invoice=other, to=Invoice.State.SCHEDULED, actor=cast.second_clerk,
                       reason="Scheduled by hand.")
    single = entries(Invoice, [other.pk])[other.pk]

    assert set(bulk.changes) == set(single.changes)
    assert (bulk.action, bulk.actor_email, bulk.serialized_data) == (
        single.action, single.actor_email, single.serialized_data)


def test_query_count_of_the_export_does_not_grow_with_the_run(cast, django_assert_num_queries,
                                                              settings, tmp_path):
    """Savepoint and release, the locked run, the payments with invoice, vendor and account for
    the file, per table (payment, invoice) a locked read and one UPDATE, two event INSERTs, one
    auditlog INSERT for both tables, and the run's own locked transition (lock, auditlog's read,
    its entry, UPDATE): 15 for 2 payments and for 12."""
    settings.MEDIA_ROOT = tmp_path
    small, large = approved_run(cast, 2), None
    with django_assert_num_queries(15):
        payment_run_export(run=small, actor=cast.second_clerk)
    large = approved_run(cast, 12)
    with django_assert_num_queries(15):
        payment_run_export(run=large, actor=cast.second_clerk)


def test_one_invoice_that_moved_meanwhile_stops_the_export_and_nothing_changes(cast):
    run = approved_run(cast, 3)
    payments = list(run.payments.order_by("pk"))
    # Paid in the ERP (the payment status task) after the run was approved.
    invoice_transition(invoice=payments[1].invoice_id, to=Invoice.State.PAID, source="erp:tryton")
    events = InvoiceEvent.objects.count()
    log = LogEntry.objects.count()

    with pytest.raises(InvalidTransition):
        payment_run_export(run=run, actor=cast.second_clerk)

    assert set(Payment.objects.filter(run=run).values_list("state", flat=True)) == {"proposed"}
    assert Invoice.objects.get(pk=payments[0].invoice_id).state == Invoice.State.POSTED
    assert (InvoiceEvent.objects.count(), LogEntry.objects.count()) == (events, log)
    run.refresh_from_db()
    assert run.state == PaymentRun.State.APPROVED and not run.file


def exported_run(cast, n: int) -> list[Payment]:
    run = payment_run_export(run=approved_run(cast, n), actor=cast.second_clerk)
    return list(run.payments.order_by("pk"))


def test_camt054_import_moves_in_bulk_with_each_invoices_own_reason_and_audit(cast):
    from erp_integration.services.payments import camt054_import
    from erp_integration.tests.test_payment_runs import camt054

    paid, returned, pending = exported_run(cast, 3)
    data = camt054(booked=[(paid.end_to_end_id, str(paid.amount))],
                   returned=[(returned.end_to_end_id, str(returned.amount))])

    result = camt054_import(data=data, actor=cast.clerk)

    assert (result.paid, result.returned, result.unchanged) == (1, 1, 0)
    paid_invoice = Invoice.objects.get(pk=paid.invoice_id)
    assert paid_invoice.state == Invoice.State.PAID
    assert paid_invoice.state_reason == f"Paid: the bank booked {paid.end_to_end_id}."
    returned_invoice = Invoice.objects.get(pk=returned.invoice_id)
    assert returned_invoice.state == Invoice.State.POSTED
    assert returned_invoice.state_reason == (
        f"The bank returned payment {returned.end_to_end_id}; pay it again.")
    assert Invoice.objects.get(pk=pending.invoice_id).state == Invoice.State.SCHEDULED
    event = InvoiceEvent.objects.get(invoice=paid_invoice, to_state="paid")
    assert (event.actor, event.message, event.params) == (
        cast.clerk, paid_invoice.state_reason, {"payment_id": paid.pk})
    assert InvoiceEvent.objects.filter(
        invoice=returned_invoice, kind="payment",
        message=f"Bank statement: payment {returned.end_to_end_id} returned.").exists()
    pay_log = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Payment), object_id=paid.pk,
        actor=cast.clerk).get()
    assert pay_log.changes["state"] == ["scheduled", "paid"] and "paid_at" in pay_log.changes
    inv_log = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Invoice), object_id=returned.invoice_id,
        actor=cast.clerk).get()
    assert inv_log.changes["state"] == ["scheduled", "posted"]
    assert inv_log.changes["state_reason"][1] == returned_invoice.state_reason

    again = camt054_import(data=data, actor=cast.clerk)
    assert (again.paid, again.returned, again.unchanged) == (0, 0, 2)


def test_camt054_query_count_does_not_grow_with_the_statement(cast, django_assert_num_queries):
    """Savepoint and release, the locked payments; per outcome (paid, returned) a locked read and
    an UPDATE of payments, a locked read and a bulk_update of invoices (each its own reason), the
    state events INSERT; one auditlog INSERT, one payment events INSERT: 15 for 2 and for 10."""
    from erp_integration.services.payments import camt054_import
    from erp_integration.tests.test_payment_runs import camt054

    runs = [exported_run(cast, n) for n in (2, 10)]  # both first: a returned one is proposed again
    for payments in runs:
        n = len(payments)
        data = camt054(booked=[(p.end_to_end_id, str(p.amount)) for p in payments[1:]],
                       returned=[(payments[0].end_to_end_id, str(payments[0].amount))])
        with django_assert_num_queries(15):
            result = camt054_import(data=data, actor=cast.clerk)
        assert (result.paid, result.returned) == (n - 1, 1)
