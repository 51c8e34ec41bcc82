"""Deployment checks, the Content-Security-Policy, escaping of hostile text and safe CSV."""

from __future__ import annotations

import csv
import io
import os
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from apinvoices.exports import csv_cell
from apinvoices.models import Invoice, InvoiceException
from apinvoices.tests.factories import InvoiceFactory, VendorFactory

REPO = Path(__file__).resolve().parents[2]
XSS = "<script>alert(1)</script>"


def test_production_settings_pass_check_deploy_at_warning_level(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "ap.example.com",
        "AP_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_a_missing_secret_key(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "AP_VAR_DIR": str(tmp_path)}
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_csp_without_inline_script_and_refuse_framing(client, cast):
    client.force_login(cast.clerk)
    response = client.get(reverse("apinvoices:inbox"))
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_framed_original_allows_only_its_own_site_as_ancestor(client, cast):
    invoice = InvoiceFactory()
    client.force_login(cast.clerk)
    response = client.get(reverse("apinvoices:document_original", kwargs={"pk": invoice.document.pk}))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_templates_have_no_inline_script_or_event_handlers():
    import re

    offenders = []
    for path in (REPO / "templates").rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0) and "application/json" not in match.group(0):
                offenders.append(f"{path.relative_to(REPO)}: {match.group(0)}")
        for match in re.finditer(r"\son[a-z]+\s*=", text):
            offenders.append(f"{path.relative_to(REPO)}: {match.group(0).strip()}")
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(REPO)}: javascript: URL")
    assert offenders == []


@pytest.fixture
def hostile_invoice(db):
    vendor = VendorFactory(name=f"Evil {XSS} Ltd")
    invoice = InvoiceFactory(vendor=vendor, vendor_name=f"Evil {XSS} Ltd", invoice_number=f"=1+{XSS}"[:64],
                             state=Invoice.State.EXCEPTION, total_amount=Decimal("119.00"))
    InvoiceException.objects.create(invoice=invoice, kind=InvoiceException.Kind.DUPLICATE,
                                    severity=InvoiceException.Severity.BLOCKING,
                                    message=f"@SUM(A1) {XSS}")
    return invoice


@pytest.mark.parametrize("page", ["inbox", "invoice"])
def test_hostile_vendor_text_renders_escaped(client, cast, hostile_invoice, page):
    client.force_login(cast.clerk)
    url = (reverse("apinvoices:inbox") if page == "inbox"
           else reverse("apinvoices:invoice_detail", kwargs={"pk": hostile_invoice.pk}))
    body = client.get(url).content.decode()
    assert XSS not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def _csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_csv_exports_defuse_formulas_and_keep_text_verbatim(client, cast, hostile_invoice):
    client.force_login(cast.clerk)
    inbox = _csv_rows(client.get(reverse("apinvoices:export_inbox_csv")))
    header, row = inbox[0], inbox[1]
    assert row[header.index("invoice_number")] == "'" + hostile_invoice.invoice_number
    assert row[header.index("vendor")] == f"Evil {XSS} Ltd"
    assert row[header.index("total_amount")] == "119.00"

    exceptions = _csv_rows(client.get(reverse("apinvoices:export_exceptions_csv")))
    header, row = exceptions[0], exceptions[1]
    assert row[header.index("message")] == f"'@SUM(A1) {XSS}"
    assert row[header.index("invoice_number")].startswith("'=")


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@cmd", "\tx", "\rx"])
def test_csv_cell_prefixes_every_formula_start(text):
    assert csv_cell(text) == "'" + text


def test_csv_cell_keeps_numbers_and_plain_text():
    assert csv_cell(Decimal("-100.00")) == Decimal("-100.00")
    assert csv_cell("ACME GmbH") == "ACME GmbH"
    assert csv_cell(None) == ""
