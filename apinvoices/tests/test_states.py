"""The invoice state machine, tested exhaustively from its own table."""

from __future__ import annotations

import itertools

import pytest
from auditlog.models import LogEntry

from apinvoices.exceptions import ErrorCode, InvalidTransition
from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.states import INVOICE_MACHINE, INVOICE_TRANSITIONS, invoice_transition
from apinvoices.tests.factories import InvoiceFactory

STATES = [s.value for s in Invoice.State]
ALLOWED = [(a, b) for a, targets in INVOICE_TRANSITIONS.items() for b in sorted(targets)]
FORBIDDEN = [(a, b) for a, b in itertools.product(STATES, STATES) if (a, b) not in ALLOWED]


def test_table_names_every_state_and_only_real_states():
    assert set(INVOICE_TRANSITIONS) == set(STATES)
    assert INVOICE_MACHINE.states == set(STATES)


def test_every_state_is_reachable_from_received():
    seen, frontier = {Invoice.State.RECEIVED.value}, [Invoice.State.RECEIVED.value]
    while frontier:
        for nxt in INVOICE_TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(STATES)


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transition_moves_state_and_writes_event_and_history(cast, current, target):
    invoice = InvoiceFactory(state=current)
    before = LogEntry.objects.get_for_object(invoice).count()

    result = invoice_transition(invoice=invoice, to=target, actor=cast.clerk, reason="because")

    assert result.state == target
    invoice.refresh_from_db()
    assert invoice.state == target
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.STATE)
    assert (event.from_state, event.to_state, event.actor, event.message) == (
        current,
        target,
        cast.clerk,
        "because",
    )
    entries = LogEntry.objects.get_for_object(invoice)
    assert entries.count() == before + 1
    assert entries.latest("timestamp").actor == cast.clerk


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_forbidden_transition_raises_and_changes_nothing(cast, current, target):
    invoice = InvoiceFactory(state=current)

    with pytest.raises(InvalidTransition) as exc:
        invoice_transition(invoice=invoice, to=target, actor=cast.clerk)

    assert exc.value.code == ErrorCode.INVALID_TRANSITION
    invoice.refresh_from_db()
    assert invoice.state == current
    assert not InvoiceEvent.objects.filter(invoice=invoice).exists()


@pytest.mark.django_db
def test_system_transition_records_its_source():
    invoice = InvoiceFactory(state=Invoice.State.RECEIVED)

    invoice_transition(invoice=invoice.pk, to=Invoice.State.EXTRACTING, source="task:extract")

    event = InvoiceEvent.objects.get(invoice=invoice)
    assert event.actor is None and event.source == "task:extract"


@pytest.mark.django_db
def test_system_transition_without_source_is_refused():
    invoice = InvoiceFactory(state=Invoice.State.RECEIVED)
    with pytest.raises(ValueError):
        invoice_transition(invoice=invoice, to=Invoice.State.EXTRACTING)
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.RECEIVED


@pytest.mark.django_db
def test_transition_uses_the_database_state_not_a_stale_instance(cast):
    invoice = InvoiceFactory(state=Invoice.State.NEEDS_REVIEW)
    stale = Invoice.objects.get(pk=invoice.pk)
    invoice_transition(invoice=invoice, to=Invoice.State.VOID, actor=cast.clerk)

    with pytest.raises(InvalidTransition):
        invoice_transition(invoice=stale, to=Invoice.State.AWAITING_APPROVAL, actor=cast.clerk)
