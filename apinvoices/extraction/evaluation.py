"""Compare extraction results with the public corpus's ground truth (tests and benchmarks).

The corpus (see ``docs`` / ``shared/corpus/README.md``) ships ``ground_truth.csv`` files whose
values are the raw XML text; this module maps their columns to our field names and compares
values the way a clerk would: amounts as numbers, dates as dates, identifiers compact, names
with collapsed whitespace.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from apinvoices.extraction.einvoice import CREDIT_NOTE_TYPE_CODES
from apinvoices.extraction.identifiers import compact_iban, compact_tax_id
from apinvoices.extraction.types import ExtractedInvoice

# ground_truth.csv column -> our field name
GROUND_TRUTH_COLUMNS: dict[str, str] = {
    "invoice_number": "invoice_number",
    "type_code": "document_type",
    "issue_date": "issue_date",
    "due_date": "due_date",
    "seller_name": "vendor_name",
    "seller_vat_id": "vendor_tax_id",
    "seller_iban": "vendor_iban",
    "currency": "currency",
    "tax_exclusive_amount": "net_amount",
    "tax_amount": "tax_amount",
    "tax_inclusive_amount": "total_amount",
    "payable_amount": "amount_due",
    "buyer_order_ref": "po_number",
    "buyer_reference": "buyer_reference",
}
AMOUNT_FIELDS = frozenset({"net_amount", "tax_amount", "total_amount", "amount_due"})
DATE_FIELDS = frozenset({"issue_date", "due_date"})
_WS = re.compile(r"\s+")


def corpus_dir() -> Path | None:
    """The shared corpus: ``$AP_CORPUS_DIR``, else ``shared/corpus`` beside the repository
    root or one of its parents (worktrees live one level deeper than the main checkout)."""
    configured = os.environ.get("AP_CORPUS_DIR")
    if configured:
        path = Path(configured)
        return path if path.is_dir() else None
    repo_root = Path(__file__).resolve().parents[2]
    for parent in [repo_root, *repo_root.parents]:
        candidate = parent / "shared" / "corpus"
        if candidate.is_dir() and any(candidate.glob("*/ground_truth.csv")):
            return candidate
    return None


@dataclass(frozen=True)
class TruthRow:
    corpus: str  # folder name, e.g. "xrechnung-testsuite"
    file: str  # as written in the CSV, relative to the corpus folder
    path: Path
    kind: str  # "xml", "facturx-pdf", "pdf"
    syntax: str
    expected: dict[str, object]  # our field name -> normalised expected value
    line_count: int | None
    parse_error: str

    @property
    def relpath(self) -> str:
        return f"{self.corpus}/{self.file}"


def parse_gt_date(raw: str) -> date | None:
    raw = raw.strip()
    match = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})", raw)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def normalise(field: str, value) -> object:
    """Bring an expected or extracted value to the form both are compared in."""
    if value is None:
        return None
    if field in AMOUNT_FIELDS:
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return str(value)
    if field in DATE_FIELDS:
        return value if isinstance(value, date) else parse_gt_date(str(value))
    if field == "vendor_tax_id":
        return compact_tax_id(str(value))
    if field == "vendor_iban":
        return compact_iban(str(value))
    if field == "currency":
        return str(value).strip().upper()
    if field == "document_type":
        text = str(value).strip()
        if text in ("invoice", "credit_note"):
            return text
        return "credit_note" if text in CREDIT_NOTE_TYPE_CODES else "invoice"
    return _WS.sub(" ", str(value)).strip()


def load_ground_truth(root: Path) -> Iterator[TruthRow]:
    """Yield one row per file of every ``ground_truth.csv`` under ``root`` (sorted)."""
    for csv_path in sorted(root.glob("*/ground_truth.csv")):
        corpus = csv_path.parent.name
        with csv_path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                expected = {}
                for column, field in GROUND_TRUTH_COLUMNS.items():
                    raw = (row.get(column) or "").strip()
                    value = normalise(field, raw) if raw else None
                    if value is not None:  # e.g. the placeholder IBAN "IBAN" compacts to nothing
                        expected[field] = value
                line_count = row.get("line_count") or ""
                yield TruthRow(
                    corpus=corpus,
                    file=row["file"],
                    path=csv_path.parent / row["file"],
                    kind=row["kind"],
                    syntax=row["syntax"],
                    expected=expected,
                    line_count=int(line_count) if line_count.isdigit() else None,
                    parse_error=row.get("parse_error") or "",
                )


def compare(
    expected: dict[str, object], result: ExtractedInvoice
) -> dict[str, tuple[object, object]]:
    """Return ``{field: (expected, got)}`` for every expected field the result got wrong or
    missed; an empty dict means every field matched."""
    mismatches = {}
    for field, want in expected.items():
        got = normalise(field, result.value(field))
        if got != want:
            mismatches[field] = (want, got)
    return mismatches
