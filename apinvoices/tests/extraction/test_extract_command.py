"""``manage.py extract``: JSON lines, the table, failures and the exit code."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apinvoices.extraction.serialize import PUBLIC_FIELDS

CII = "en16931-examples/cii/examples/CII_example1.xml"
FACTURX = "zugferd-corpus/ZUGFeRDv1/correct/Mustangproject/MustangGnuaccountingBeispielRE-20170509_505.pdf"


def run(*args) -> tuple[list[str], CommandError | None]:
    out = io.StringIO()
    try:
        call_command("extract", *args, stdout=out)
    except CommandError as err:
        return out.getvalue().splitlines(), err
    return out.getvalue().splitlines(), None


@pytest.mark.django_db(databases=[])
def test_json_lines_follow_the_contract(corpus_dir):
    lines, error = run(str(corpus_dir / CII), str(corpus_dir / FACTURX), "--json")

    assert error is None
    first, second = (json.loads(line) for line in lines)
    assert first["file"].endswith("CII_example1.xml") and first["kind"] == "cii"
    assert set(first["fields"]) <= set(PUBLIC_FIELDS)
    assert first["fields"]["issue_date"] == {
        "value": "2015-01-09",
        "confidence": 1.0,
        "source": "xml",
    }
    assert first["fields"]["total_amount"]["value"] == "250.33"
    assert first["fields"]["vendor_iban"]["value"] == "NL57RABO0107307510"
    assert first["fields"]["vendor_tax_id"]["value"] == "NL820098395B01"
    assert "po_number" not in first["fields"]  # absent fields are omitted, not null
    assert first["lines"][0] == {
        "description": "PATAT FRITES 10MM 10KG",
        "quantity": "2",
        "unit_price": "9.95",
        "amount": "19.9",
        "tax_rate": "6",
    }
    assert first["errors"] == []
    assert second["kind"] == "facturx"
    assert second["fields"]["vendor_iban"]["value"] == "DE88200800000970375700"
    assert second["fields"]["invoice_number"]["value"] == "RE-20170509/505"
    # no float anywhere: every amount is a decimal string
    for record in (first, second):
        for name in ("net_amount", "tax_amount", "total_amount"):
            assert re.fullmatch(r"-?\d+(\.\d+)?", record["fields"][name]["value"])


@pytest.mark.django_db(databases=[])
def test_a_failing_file_gets_its_line_and_the_command_goes_on(corpus_dir, tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a pdf")
    lines, error = run(str(junk), str(tmp_path / "missing.xml"), str(corpus_dir / CII), "--json")

    records = [json.loads(line) for line in lines]
    assert [r["kind"] for r in records] == [None, None, "cii"]
    assert records[0]["code"] == "unsupported_type" and records[0]["errors"]
    assert "cannot read file" in records[1]["errors"][0]
    assert error is not None and error.returncode == 1


@pytest.mark.django_db(databases=[])
def test_force_xml_on_a_plain_pdf_fails_that_file(corpus_dir):
    lines, error = run(
        str(corpus_dir / "invoice2data-compare/tests/compare/AmazonWebServices.pdf"),
        "--json",
        "--force",
        "xml",
    )
    assert json.loads(lines[0])["code"] == "not_an_invoice"
    assert error is not None


@pytest.mark.django_db(databases=[])
def test_table_output_is_readable(corpus_dir):
    lines, error = run(str(corpus_dir / CII))

    assert error is None
    text = "\n".join(lines)
    assert "[cii]" in lines[0]
    assert re.search(r"vendor_name\s+De Koksmaat\s+1\.00\s+xml", text)
    assert re.search(r"total_amount\s+250\.33", text)
    assert "PATAT FRITES" in text


@pytest.mark.django_db(databases=[])
def test_text_layer_fields_carry_page_and_bbox(corpus_dir):
    pytest.importorskip("apinvoices.extraction.pdftext", reason="text-layer step not built yet")
    path = corpus_dir / "zugferd-corpus/XML-Rechnung/FX/EN16931_Einfach.pdf"
    lines, error = run(str(path), "--json", "--force", "pdf_text")

    record = json.loads(lines[0])
    assert error is None and record["kind"] == "pdf_text"
    assert record["fields"], record
    for fv in record["fields"].values():
        assert fv["source"] == "text" and 0 <= fv["confidence"] <= 1
        if "bbox" in fv:
            assert isinstance(fv["page"], int) and fv["page"] >= 1
            x0, y0, x1, y1 = fv["bbox"]
            assert x0 <= x1 and y0 <= y1
    assert any("bbox" in fv for fv in record["fields"].values())
