"""Line items and the tax breakdown edited on the review screen, against real SQLite: values
parse as typed, every change is audited, the arithmetic check follows, states are respected."""

from __future__ import annotations

from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.models import Invoice, InvoiceEvent, InvoiceException, InvoiceLine, InvoiceTax
from apinvoices.services.invoices import invoice_evaluate
from apinvoices.services.review import (
    invoice_line_add,
    invoice_line_delete,
    invoice_line_update,
    invoice_tax_add,
    invoice_tax_delete,
    invoice_tax_update,
    parse_decimal,
)
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory

pytestmark = pytest.mark.django_db
S = Invoice.State


def _open_lines_finding(invoice) -> InvoiceException | None:
    return InvoiceException.objects.filter(invoice=invoice, kind="arithmetic", key="lines", status="open").first()


def _invoice_with_lines(*amounts: str, state=S.NEEDS_REVIEW, **kwargs) -> Invoice:
    invoice = InvoiceFactory(state=state, **kwargs)
    for i, amount in enumerate(amounts, start=1):
        InvoiceLineFactory(invoice=invoice, position=i, description=f"Item {i}", quantity=Decimal("1"),
                           unit_price=Decimal(amount), amount=Decimal(amount))
    return invoice


@pytest.mark.parametrize(("raw", "places", "expected"), [
    ("1234.5", 2, Decimal("1234.50")),
    ("1.234,5", 2, Decimal("1234.50")),
    ("1 234,56", 2, Decimal("1234.56")),
    ("19 %", 3, Decimal("19.000")),
    ("-12,00", 2, Decimal("-12.00")),
    ("", 2, None),
])
def test_numbers_parse_the_way_clerks_type_them(raw, places, expected):
    assert parse_decimal(raw=raw, what="x", places=places) == expected


def test_a_word_is_not_a_number():
    with pytest.raises(ApplicationError, match="is not a number"):
        parse_decimal(raw="twelve", what="quantity", places=4)


def test_fixing_a_misread_line_closes_the_lines_sum_exception_and_is_audited(cast):
    # GIVEN lines that add up to 90 while the net says 100 (a misread "60" for "70")
    invoice = _invoice_with_lines("30.00", "60.00")
    invoice = invoice_evaluate(invoice=invoice, actor=cast.clerk)
    finding = _open_lines_finding(invoice)
    assert finding is not None and finding.severity == "blocking" and invoice.state == S.EXCEPTION
    line = invoice.lines.get(position=2)

    # WHEN the clerk corrects the second line's unit price and amount, typed the German way
    invoice = invoice_line_update(invoice=invoice, line_id=line.pk, actor=cast.clerk,
                                  values={"unit_price": "70,00", "amount": "70,00"})

    # THEN the finding is closed by the checks, the invoice is back in review
    assert _open_lines_finding(invoice) is None
    assert invoice.state == S.NEEDS_REVIEW and invoice.touched_by_human
    line.refresh_from_db()
    assert (line.unit_price, line.amount) == (Decimal("70"), Decimal("70.00"))
    event = InvoiceEvent.objects.filter(invoice=invoice, kind="field_edit").latest("pk")
    assert event.actor == cast.clerk
    assert event.params == {"line": 2, "action": "edit", "old": {"unit_price": "60", "amount": "60.00"},
                            "new": {"unit_price": "70", "amount": "70.00"}}
    assert "Line 2" in event.message
    entry = LogEntry.objects.get_for_object(line).latest("timestamp")
    assert entry.actor == cast.clerk and "amount" in entry.changes_dict


def test_breaking_a_line_opens_the_exception_and_deleting_the_extra_line_closes_it(cast):
    invoice = _invoice_with_lines("40.00", "60.00")
    invoice = invoice_evaluate(invoice=invoice, actor=cast.clerk)
    assert _open_lines_finding(invoice) is None

    invoice = invoice_line_add(invoice=invoice, actor=cast.clerk,
                               values={"description": "Freight", "quantity": "2", "unit_price": "7,50"})
    added = invoice.lines.get(position=3)
    assert (added.description, added.amount) == ("Freight", Decimal("15.00"))  # qty × price
    finding = _open_lines_finding(invoice)
    assert finding is not None and finding.params == {"line_sum": "115.000", "net": "100.000"}
    assert invoice.state == S.EXCEPTION

    first = invoice.lines.get(position=1)
    invoice = invoice_line_delete(invoice=invoice, line_id=first.pk, actor=cast.clerk)
    invoice = invoice_line_update(invoice=invoice, line_id=invoice.lines.get(position=2).pk,
                                  actor=cast.clerk, values={"amount": "40.00"})

    assert list(invoice.lines.values_list("position", "description")) == [(1, "Item 2"), (2, "Freight")]
    assert _open_lines_finding(invoice) is None
    deleted = InvoiceEvent.objects.get(invoice=invoice, params__action="delete")
    assert deleted.params["old"]["description"] == "Item 1" and deleted.actor == cast.clerk
    assert LogEntry.objects.filter(object_pk=str(first.pk), action=LogEntry.Action.DELETE,
                                   actor=cast.clerk).exists()


def test_bad_values_change_nothing(cast):
    invoice = _invoice_with_lines("100.00")
    line = invoice.lines.get()
    events = InvoiceEvent.objects.filter(invoice=invoice).count()

    with pytest.raises(ApplicationError, match="is not a number"):
        invoice_line_update(invoice=invoice, line_id=line.pk, actor=cast.clerk, values={"quantity": "a few"})
    with pytest.raises(ApplicationError, match="description or an amount"):
        invoice_line_add(invoice=invoice, actor=cast.clerk, values={"description": "  "})
    with pytest.raises(ApplicationError) as missing:
        invoice_line_update(invoice=invoice, line_id=InvoiceLineFactory().pk, actor=cast.clerk, values={"amount": "1"})
    assert missing.value.code == ErrorCode.NOT_FOUND  # a line of another invoice

    line.refresh_from_db()
    assert line.quantity == Decimal("1") and invoice.lines.count() == 1
    assert InvoiceEvent.objects.filter(invoice=invoice).count() == events


def test_an_unchanged_value_writes_nothing(cast):
    invoice = _invoice_with_lines("100.00")
    line = invoice.lines.get()
    invoice_line_update(invoice=invoice, line_id=line.pk, actor=cast.clerk,
                        values={"description": "Item 1", "amount": "100"})
    assert not InvoiceEvent.objects.filter(invoice=invoice, kind="field_edit").exists()


@pytest.mark.parametrize("state", [S.POSTED, S.PAID, S.VOID, S.DUPLICATE])
def test_lines_of_an_invoice_past_approval_cannot_be_edited(cast, state):
    invoice = _invoice_with_lines("100.00", state=state)
    line = invoice.lines.get()
    tax = InvoiceTax.objects.create(invoice=invoice, rate=Decimal("19"), base_amount=Decimal("100"),
                                    tax_amount=Decimal("19"))
    attempts = [
        lambda: invoice_line_update(invoice=invoice, line_id=line.pk, actor=cast.clerk, values={"amount": "1"}),
        lambda: invoice_line_add(invoice=invoice, actor=cast.clerk, values={"description": "x"}),
        lambda: invoice_line_delete(invoice=invoice, line_id=line.pk, actor=cast.clerk),
        lambda: invoice_tax_update(invoice=invoice, tax_id=tax.pk, actor=cast.clerk, values={"rate": "7"}),
        lambda: invoice_tax_add(invoice=invoice, actor=cast.clerk, values={"rate": "7", "base_amount": "1"}),
        lambda: invoice_tax_delete(invoice=invoice, tax_id=tax.pk, actor=cast.clerk),
    ]
    for attempt in attempts:
        with pytest.raises(ApplicationError, match="cannot be edited"):
            attempt()
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 1
    assert InvoiceTax.objects.get(pk=tax.pk).rate == Decimal("19")
    assert not InvoiceEvent.objects.filter(invoice=invoice, kind="field_edit").exists()


def test_a_line_edit_while_awaiting_approval_routes_the_invoice_again(cast):
    from approvals.models import ApprovalStep
    from apinvoices.services.invoices import invoice_submit_for_approval

    invoice = _invoice_with_lines("100.00")
    invoice = invoice_submit_for_approval(invoice=invoice, actor=cast.clerk, source="test")
    assert invoice.state == S.AWAITING_APPROVAL
    first_round = set(ApprovalStep.objects.filter(invoice=invoice).values_list("pk", flat=True))

    invoice = invoice_line_update(invoice=invoice, line_id=invoice.lines.get().pk, actor=cast.clerk,
                                  values={"description": "Consulting, March"})

    steps = ApprovalStep.objects.filter(invoice=invoice)
    assert set(steps.filter(pk__in=first_round).values_list("state", flat=True)) == {"superseded"}
    assert steps.exclude(pk__in=first_round).exists()


def test_tax_rows_fix_the_rate_check_and_are_audited(cast):
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW)
    tax = InvoiceTax.objects.create(invoice=invoice, rate=Decimal("7"), base_amount=Decimal("100"),
                                    tax_amount=Decimal("19"))
    invoice = invoice_evaluate(invoice=invoice, actor=cast.clerk)
    assert InvoiceException.objects.filter(invoice=invoice, key="rate:7", status="open").exists()

    invoice = invoice_tax_update(invoice=invoice, tax_id=tax.pk, actor=cast.clerk, values={"rate": "19 %"})

    assert not InvoiceException.objects.filter(invoice=invoice, kind="arithmetic", status="open").exists()
    event = InvoiceEvent.objects.filter(invoice=invoice, kind="field_edit").latest("pk")
    assert event.params["old"] == {"rate": "7"} and event.params["new"] == {"rate": "19"}
    assert LogEntry.objects.get_for_object(tax).filter(actor=cast.clerk).exists()

    with pytest.raises(ApplicationError, match="between 0 and 100"):
        invoice_tax_update(invoice=invoice, tax_id=tax.pk, actor=cast.clerk, values={"rate": "190"})
    with pytest.raises(ApplicationError, match="delete the row"):
        invoice_tax_update(invoice=invoice, tax_id=tax.pk, actor=cast.clerk, values={"tax_amount": ""})

    invoice = invoice_tax_add(invoice=invoice, actor=cast.clerk, values={"rate": "7", "base_amount": "10,00"})
    added = invoice.taxes.get(rate=Decimal("7"))
    assert added.tax_amount == Decimal("0.70")  # base × rate when the tax is left blank
    invoice = invoice_tax_delete(invoice=invoice, tax_id=added.pk, actor=cast.clerk)
    assert list(invoice.taxes.values_list("rate", flat=True)) == [Decimal("19")]


def test_a_line_edit_is_refused_and_undone_once_the_erp_posting_is_being_sent(cast):
    from erp_integration.models import ErpPosting

    invoice = _invoice_with_lines("100.00", state=S.APPROVED)
    ErpPosting.objects.create(invoice=invoice, backend="file", idempotency_key=f"ap-{invoice.pk}",
                              state=ErpPosting.State.SENDING)
    line = invoice.lines.get()

    with pytest.raises(ApplicationError, match="correct it there"):
        invoice_line_update(invoice=invoice, line_id=line.pk, actor=cast.clerk, values={"amount": "90"})

    line.refresh_from_db()
    invoice.refresh_from_db()
    assert line.amount == Decimal("100.00") and invoice.state == S.APPROVED and not invoice.touched_by_human
    assert not InvoiceEvent.objects.filter(invoice=invoice, kind="field_edit").exists()
