"""The LLM review check through the real ``openai`` client against the local stand-in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apinvoices.checks import invoice_run_checks
from apinvoices.models import Extraction, Invoice, InvoiceException
from apinvoices.services.invoices import invoice_evaluate
from apinvoices.services.review import invoice_update_field
from apinvoices.tests.factories import InvoiceFactory
from tests.servers.openai_stub import OpenAIStub

pytestmark = pytest.mark.django_db
S = Invoice.State

TEXT = """ACME Supplies GmbH, Hauptstr. 1, 10115 Berlin
Invoice No. A-2024-117 Date: 31.01.2024
Net 100,00 EUR VAT 19 % 19,00 EUR Total 119,00 EUR
"""


@pytest.fixture
def stub(settings):
    with OpenAIStub() as server:
        settings.OPENAI_API_KEY = server.api_key
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_MODEL = "gpt-test"
        settings.OPENAI_TIMEOUT_SECONDS = 0.5
        settings.OPENAI_MAX_RETRIES = 0
        yield server


def _invoice(**kwargs) -> Invoice:
    invoice = InvoiceFactory(state=S.NEEDS_REVIEW, **kwargs)
    Extraction.objects.create(document=invoice.document, kind="pdf_text", status="succeeded", text=TEXT)
    return invoice


def _llm_findings(invoice, status="open"):
    return list(InvoiceException.objects.filter(invoice=invoice, kind="llm_review", status=status))


def test_a_concern_opens_one_warning_with_the_models_words_and_is_not_asked_again(stub, cast):
    stub.answers = {"concerns": ["The IBAN on the invoice differs from the one in the text."]}
    invoice = _invoice()

    outcome = invoice_run_checks(invoice=invoice)

    [finding] = _llm_findings(invoice)
    assert finding.severity == "warning" and "The IBAN on the invoice differs" in finding.message
    assert outcome.open_blocking == 0
    assert len(stub.requests) == 1
    sent = stub.requests[0]["body"]
    assert sent["response_format"]["json_schema"]["name"] == "invoice_review"
    assert "A-2024-117" in sent["messages"][1]["content"] and invoice.invoice_number in sent["messages"][1]["content"]

    # Nothing changed: the cached answer is used, the finding stays as it is.
    invoice_run_checks(invoice=invoice)
    invoice_run_checks(invoice=invoice)
    assert len(stub.requests) == 1 and len(_llm_findings(invoice)) == 1

    # A clerk's edit changes what the model would see: it is asked once more.
    stub.answers = {"concerns": []}
    invoice_update_field(invoice=invoice, name="po_number", value="PO-77", actor=cast.clerk)
    assert len(stub.requests) == 2
    assert _llm_findings(invoice) == [] and len(_llm_findings(invoice, "resolved")) == 1


def test_no_concern_opens_nothing_and_is_cached_too(stub):
    stub.answers = {"concerns": []}
    invoice = _invoice()
    invoice_run_checks(invoice=invoice)
    invoice_run_checks(invoice=invoice)
    assert _llm_findings(invoice) == [] and len(stub.requests) == 1


def test_the_advisory_never_blocks_nor_touches_other_findings_nor_the_state(stub, cast):
    stub.answers = {"concerns": ["Totals look inconsistent."]}
    invoice = _invoice(total_amount=Decimal("150.00"))  # net 100 + tax 19 != 150: arithmetic, blocking

    invoice = invoice_evaluate(invoice=invoice, actor=cast.clerk)

    assert invoice.state == S.EXCEPTION  # from the arithmetic finding alone
    arithmetic = InvoiceException.objects.get(invoice=invoice, kind="arithmetic", status="open")
    [advisory] = _llm_findings(invoice)
    assert advisory.severity == "warning"

    invoice = invoice_update_field(invoice=invoice, name="total_amount", value="119.00", actor=cast.clerk)
    arithmetic.refresh_from_db()
    assert arithmetic.status == "resolved" and invoice.state == S.NEEDS_REVIEW  # a warning does not hold it


def test_a_dismissed_advisory_stays_dismissed_while_nothing_changes(stub, cast):
    from apinvoices.services.review import invoice_exception_dismiss

    stub.answers = {"concerns": ["Odd date."]}
    invoice = _invoice()
    invoice_run_checks(invoice=invoice)
    [advisory] = _llm_findings(invoice)
    invoice_exception_dismiss(exception=advisory, actor=cast.clerk, reason="Vendor always dates like this")

    invoice_run_checks(invoice=invoice)
    assert _llm_findings(invoice) == [] and len(stub.requests) == 1


@pytest.mark.parametrize("fault", ["timeout", "rate_limit", "server_error", "malformed"])
def test_a_failing_model_is_quiet_and_the_invoice_proceeds(stub, cast, fault):
    stub.fault = fault
    invoice = _invoice()

    invoice = invoice_evaluate(invoice=invoice)

    assert _llm_findings(invoice) == []
    assert not InvoiceException.objects.filter(invoice=invoice, status="open", severity="blocking").exists()
    assert invoice.state == S.NEEDS_REVIEW  # where it would be with the LLM off: nothing held up
    assert len(stub.requests) == 1
    invoice_run_checks(invoice=invoice)  # cached for these values: no second slow call
    assert len(stub.requests) == 1


def test_off_without_an_api_key_asks_nothing_and_leaves_an_earlier_advisory_alone(settings):
    settings.OPENAI_API_KEY = ""
    invoice = _invoice()
    earlier = InvoiceException.objects.create(invoice=invoice, kind="llm_review", key="llm", severity="warning",
                                              message="Earlier advisory")
    invoice_run_checks(invoice=invoice)
    earlier.refresh_from_db()
    assert earlier.status == "open"
