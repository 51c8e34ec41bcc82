"""The optional LLM, driven through the real ``openai`` client against a local stand-in."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal

import pytest

from apinvoices.extraction.llm import LLM_CONFIDENCE, llm_enabled, llm_fill, llm_review
from apinvoices.extraction.types import ExtractedInvoice, FieldValue
from tests.servers.openai_stub import OpenAIStub

TEXT = """ACME Supplies GmbH, Hauptstr. 1, 10115 Berlin
USt-IdNr.: DE136695976
Invoice No. A-2024-117        Date: 31.01.2024
Order ref: PO-5531
Net 1.234,50 EUR   VAT 19 % 234,56 EUR   Total 1.469,06 EUR
IBAN DE88 2008 0000 0970 3757 00
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


def text_result(**fields) -> ExtractedInvoice:
    result = ExtractedInvoice(kind="pdf_text", text=TEXT)
    for name, (value, confidence) in fields.items():
        result.fields[name] = FieldValue(value=value, confidence=confidence, source="text", page=1)
    return result


def test_off_without_an_api_key(settings):
    settings.OPENAI_API_KEY = ""
    result = text_result()

    assert not llm_enabled()
    assert llm_fill(result) is result and result.fields == {} and result.warnings == []
    assert llm_review(TEXT, {}) is None


def test_fills_missing_and_low_confidence_fields_only(stub):
    stub.answers = {
        "invoice_number": "A-2024-117",
        "issue_date": "2024-01-31",
        "total_amount": "1469.06",
        "vendor_iban": "DE88 2008 0000 0970 3757 00",
        "vendor_tax_id": "DE136695976",
        "vendor_name": "Someone Else Ltd",  # asked for, but not in the text: dropped
        "po_number": "PO-5531",
        "net_amount": "999.99",  # not asked for: the text value is confident
    }
    result = text_result(net_amount=(Decimal("1234.50"), 0.95), po_number=("P0-5531", 0.4))

    llm_fill(result)

    assert result.value("invoice_number") == "A-2024-117"
    assert result.value("issue_date") == date(2024, 1, 31)
    assert result.value("total_amount") == Decimal("1469.06")
    assert result.value("vendor_iban") == "DE88200800000970375700"
    assert result.value("vendor_tax_id") == "DE136695976"
    assert result.value("po_number") == "PO-5531"  # low confidence replaced
    assert result.fields["po_number"].source == "llm"
    assert result.fields["po_number"].confidence == LLM_CONFIDENCE
    assert result.value("net_amount") == Decimal("1234.50")
    assert result.fields["net_amount"].source == "text"
    assert "vendor_name" not in result.fields

    body = stub.requests[-1]["body"]
    assert body["model"] == "gpt-test"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert "Invoice No. A-2024-117" in body["messages"][1]["content"]
    assert (
        "net_amount" not in body["messages"][1]["content"].split("Fields wanted:")[1].split("\n")[0]
    )


def test_never_overrides_xml_values_and_skips_the_call_when_nothing_is_missing(stub):
    result = ExtractedInvoice(kind="facturx", text=TEXT)
    from apinvoices.extraction.llm import LLM_FIELDS

    for name in LLM_FIELDS:
        result.fields[name] = FieldValue(value="x", confidence=0.1, source="xml")
    stub.answers = {"invoice_number": "A-2024-117"}

    llm_fill(result)

    assert result.value("invoice_number") == "x" and result.fields["invoice_number"].source == "xml"
    assert stub.requests == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("timeout", "timed out"),
        ("rate_limit", "rate limited (HTTP 429, retry after 7 s)"),
        ("server_error", "server error (HTTP 500)"),
        ("malformed", "malformed answer"),
        ("bad_auth", "server error (HTTP 401)"),
    ],
)
def test_faults_degrade_to_a_flagged_result(stub, fault, reason):
    stub.fault = fault
    stub.retry_after = "7"
    stub.answers = {"invoice_number": "A-2024-117"}
    result = text_result(net_amount=(Decimal("1234.50"), 0.95))

    started = time.monotonic()
    returned = llm_fill(result)

    assert returned is result
    assert result.value("net_amount") == Decimal("1234.50")
    assert "invoice_number" not in result.fields
    assert any(w.startswith("LLM unavailable: ") and reason in w for w in result.warnings), (
        result.warnings
    )
    assert time.monotonic() - started < 3
    assert llm_review(TEXT, result.fields) is None


def test_one_retry_honours_retry_after_and_then_succeeds(stub, settings):
    settings.OPENAI_MAX_RETRIES = 1
    stub.fault, stub.fail_times, stub.retry_after = "rate_limit", 1, "0"
    stub.answers = {"invoice_number": "A-2024-117"}
    result = text_result()

    llm_fill(result)

    assert result.value("invoice_number") == "A-2024-117"
    assert len(stub.requests) == 2
    assert not any(w.startswith("LLM unavailable") for w in result.warnings)


def test_unparseable_answers_are_dropped(stub):
    stub.answers = {
        "issue_date": "31.01.2024",
        "total_amount": "1.469,06",
        "currency": "euro",
        "vendor_iban": "DE88 2008 0000 0970 3757 01",
    }
    result = text_result()

    llm_fill(result)

    assert not {"issue_date", "total_amount", "currency", "vendor_iban"} & set(result.fields)


def test_review_returns_the_concerns_as_text(stub):
    stub.answers = {
        "concerns": [
            "Net plus VAT does not equal the total.",
            "  IBAN   differs from last invoice ",
        ]
    }

    review = llm_review(TEXT, {"total_amount": FieldValue(Decimal("1469.06"), 0.9, "text")})

    assert review == "- Net plus VAT does not equal the total.\n- IBAN differs from last invoice"
    body = stub.requests[-1]["body"]
    assert body["response_format"]["json_schema"]["name"] == "invoice_review"
    assert json.loads(body["messages"][1]["content"].split("\n\n")[0].split(": ", 1)[1]) == {
        "total_amount": "1469.06"
    }


def test_review_with_no_concerns_is_none(stub):
    stub.answers = {"concerns": []}
    assert llm_review(TEXT, {}) is None


def test_pipeline_use_llm_fills_a_text_layer_gap(stub, corpus_dir):
    pytest.importorskip("apinvoices.extraction.pdftext", reason="text-layer step not built yet")
    from apinvoices.extraction.pipeline import extract_document

    data = (corpus_dir / "invoice2data-compare/tests/compare/AmazonWebServices.pdf").read_bytes()
    without = extract_document(data)
    stub.answers = {"invoice_number": "42183017", "total_amount": "4.11", "currency": "USD"}

    result = extract_document(data, use_llm=True)

    assert result.kind == "pdf_text"
    for name in ("invoice_number", "total_amount", "currency"):
        before = without.fields.get(name)
        if before is None or before.confidence < 0.6:
            assert result.fields[name].source == "llm"
        else:
            assert result.fields[name].source == before.source  # confident text values stay
    assert str(result.value("total_amount")) == "4.11"
    if stub.requests:
        assert "Amazon" in stub.requests[-1]["body"]["messages"][1]["content"]
