"""The review screen's editable lines and tax breakdown through the real URL stack (htmx)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apinvoices.models import Invoice, InvoiceLine, InvoiceTax
from apinvoices.tests.factories import InvoiceFactory, InvoiceLineFactory

pytestmark = pytest.mark.django_db
S = Invoice.State
HTMX = {"HTTP_HX_REQUEST": "true"}


def _invoice(state=S.NEEDS_REVIEW) -> Invoice:
    invoice = InvoiceFactory(state=state)
    InvoiceLineFactory(invoice=invoice, position=1, description="Beratung", unit_price=Decimal("90"),
                       amount=Decimal("90.00"))
    InvoiceTax.objects.create(invoice=invoice, rate=Decimal("19"), base_amount=Decimal("100"),
                              tax_amount=Decimal("19"))
    return invoice


def test_clerk_sees_editable_rows_auditor_sees_a_plain_table(client, cast):
    invoice = _invoice()
    line = invoice.lines.get()
    client.force_login(cast.clerk)
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert reverse("apinvoices:invoice_line_edit", args=[invoice.pk, line.pk]) in html
    assert f'id="line-{line.pk}-amount" name="amount" value="90.00"' in html
    assert reverse("apinvoices:invoice_tax_add", args=[invoice.pk]) in html
    assert "is-mismatch" in html  # 90 on the lines, 100 net

    client.force_login(cast.auditor)
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert "invoice_line_edit" not in html and "/lines/" not in html and "Beratung" in html


def test_htmx_line_edit_answers_with_the_panel_and_refreshes_the_exceptions(client, cast):
    invoice = _invoice()
    line = invoice.lines.get()
    client.force_login(cast.clerk)
    url = reverse("apinvoices:invoice_line_edit", args=[invoice.pk, line.pk])

    response = client.post(url, {"description": "Beratung", "quantity": "1", "unit_price": "100",
                                 "amount": "100,00"}, **HTMX)

    assert response.status_code == 200 and response["HX-Trigger"] == "ap:exceptions-changed"
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="panel lines-panel" id="lines-panel">')
    assert 'value="100.00"' in html and "is-mismatch" not in html
    line.refresh_from_db()
    assert line.amount == Decimal("100.00")

    bad = client.post(url, {"quantity": "viele"}, **HTMX)
    assert bad.status_code == 422 and "is not a number" in bad.content.decode()
    assert "HX-Trigger" not in bad


def test_add_and_delete_a_line_and_a_tax_row(client, cast):
    invoice = _invoice()
    client.force_login(cast.clerk)

    added = client.post(reverse("apinvoices:invoice_line_add", args=[invoice.pk]),
                        {"description": "Fahrtkosten", "quantity": "1", "unit_price": "10", "amount": ""}, **HTMX)
    assert added.status_code == 200 and "Fahrtkosten" in added.content.decode()
    new_line = InvoiceLine.objects.get(invoice=invoice, position=2)
    deleted = client.post(reverse("apinvoices:invoice_line_delete", args=[invoice.pk, new_line.pk]), **HTMX)
    assert deleted.status_code == 200 and "Fahrtkosten" not in deleted.content.decode()

    tax = client.post(reverse("apinvoices:invoice_tax_add", args=[invoice.pk]),
                      {"rate": "7", "base_amount": "10", "tax_amount": ""}, **HTMX)
    assert tax.status_code == 200 and 'id="taxes-panel"' in tax.content.decode() and 'value="0.70"' in tax.content.decode()
    row = InvoiceTax.objects.get(invoice=invoice, rate=Decimal("7"))
    edited = client.post(reverse("apinvoices:invoice_tax_edit", args=[invoice.pk, row.pk]), {"tax_amount": "0,71"}, **HTMX)
    assert edited.status_code == 200
    row.refresh_from_db()
    assert row.tax_amount == Decimal("0.71")
    assert client.post(reverse("apinvoices:invoice_tax_delete", args=[invoice.pk, row.pk]), **HTMX).status_code == 200
    assert not InvoiceTax.objects.filter(pk=row.pk).exists()


def test_without_htmx_the_clerk_is_sent_back_with_a_message(client, cast):
    invoice = _invoice()
    client.force_login(cast.clerk)
    response = client.post(reverse("apinvoices:invoice_line_add", args=[invoice.pk]), {"description": ""}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("apinvoices:invoice_detail", args=[invoice.pk])
    assert "needs a description or an amount" in response.content.decode()


def test_approver_and_auditor_may_not_edit_lines(client, cast):
    invoice = _invoice()
    line = invoice.lines.get()
    for user in (cast.approver, cast.auditor, cast.outsider):
        client.force_login(user)
        url = reverse("apinvoices:invoice_line_edit", args=[invoice.pk, line.pk])
        assert client.post(url, {"amount": "1"}, **HTMX).status_code == 403
    line.refresh_from_db()
    assert line.amount == Decimal("90.00")


def test_a_line_of_another_invoice_is_404(client, cast):
    invoice, other = _invoice(), _invoice()
    client.force_login(cast.clerk)
    url = reverse("apinvoices:invoice_line_edit", args=[invoice.pk, other.lines.get().pk])
    assert client.post(url, {"amount": "1"}, **HTMX).status_code == 404


def test_a_posted_invoice_shows_lines_read_only_and_refuses_edits(client, cast):
    invoice = _invoice(state=S.POSTED)
    client.force_login(cast.clerk)
    html = client.get(reverse("apinvoices:invoice_detail", args=[invoice.pk])).content.decode()
    assert "/lines/" not in html and "Beratung" in html
    response = client.post(reverse("apinvoices:invoice_line_add", args=[invoice.pk]), {"description": "x"}, **HTMX)
    assert response.status_code == 422 and "cannot be edited" in response.content.decode()


def test_inputs_show_amounts_at_the_minor_unit_and_prices_with_their_own_digits():
    from decimal import Decimal

    from apinvoices.templatetags.review_ui import decimal_input, price_input

    assert price_input(Decimal("237"), "CHF") == "237.00"
    assert price_input(Decimal("33.333300"), "EUR") == "33.3333"
    assert price_input(Decimal("1500"), "JPY") == "1500"
    assert price_input(None, "EUR") == ""
    assert decimal_input(Decimal("2.5000")) == "2.5"
    assert decimal_input(Decimal("10"), "EUR") == "10.00"
