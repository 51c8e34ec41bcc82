"""Field accuracy of text-layer and OCR extraction on the public corpus PDFs.

Run from the repository root::

    .venv/bin/python -m apinvoices.tests.extraction.corpus_accuracy [--ocr] [--limit N]

Ground truth: the invoice2data JSON files and, for Factur-X PDFs, the corpus's
``ground_truth.csv`` (read from the embedded XML; the embedded XML itself is not used by the
extractors under test). "total" counts as right when it equals the grand total (BT-112) or the
amount due (BT-115).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

KEY_FIELDS = (
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "net_amount",
    "total_amount",
    "vendor_tax_id",
    "vendor_iban",
)


@dataclass
class Case:
    path: Path
    truth: dict[str, object]
    alt_totals: set[Decimal] = field(default_factory=set)


def _d(value) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value))


def _date(value) -> date | None:
    if not value:
        return None
    digits = re.sub(r"\D", "", str(value))
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _compact(value) -> str | None:
    if value in (None, ""):
        return None
    return re.sub(r"[\s#]", "", str(value)).upper()


def load_cases(corpus: Path) -> list[Case]:
    cases = []
    compare = corpus / "invoice2data-compare" / "tests" / "compare"
    for js in sorted(compare.glob("*.json")):
        pdf = js.with_suffix(".pdf")
        if not pdf.exists():
            continue
        data = json.loads(js.read_text())[0]
        truth = {
            "invoice_number": _compact(data.get("invoice_number")),
            "issue_date": _date(data.get("date")),
            "due_date": _date(data.get("date_due")),
            "currency": data.get("currency"),
            "net_amount": _d(data.get("amount_untaxed")),
            "total_amount": _d(data.get("amount")),
            "vendor_tax_id": _compact(data.get("vat"))
            if isinstance(data.get("vat"), str)
            else None,
            "vendor_iban": _compact(data.get("iban")),
        }
        cases.append(Case(pdf, truth))
    zugferd = corpus / "zugferd-corpus"
    with open(zugferd / "ground_truth.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] != "facturx-pdf" or "/fail/" in row["file"] or row["parse_error"]:
                continue
            truth = {
                "invoice_number": _compact(row["invoice_number"]),
                "issue_date": _date(row["issue_date"]),
                "due_date": _date(row["due_date"]),
                "currency": row["currency"] or None,
                "net_amount": _d(row["tax_exclusive_amount"]),
                "total_amount": _d(row["tax_inclusive_amount"]),
                "vendor_tax_id": _compact(row["seller_vat_id"]),
                "vendor_iban": _compact(row["seller_iban"]),
            }
            alt = {v for v in (_d(row["payable_amount"]),) if v is not None}
            cases.append(Case(zugferd / row["file"], truth, alt))
    return cases


def _matches(name: str, got, case: Case) -> bool:
    want = case.truth[name]
    if name == "invoice_number" or name in ("vendor_tax_id", "vendor_iban"):
        return _compact(got) == want
    if name == "total_amount":
        return got == want or got in case.alt_totals
    return got == want


def run(corpus: Path, *, ocr: bool, limit: int | None, every: int = 1) -> dict:
    if ocr:
        from apinvoices.extraction.ocr import extract_pdf_ocr as extract
    else:
        from apinvoices.extraction.pdftext import extract_pdf_text as extract

    cases = load_cases(corpus)
    vendor = [c for c in cases if "invoice2data" in str(c.path)]
    facturx = [c for c in cases if "invoice2data" not in str(c.path)]
    cases = vendor + facturx[::every]
    if limit:
        cases = cases[:limit]
    stats = {name: {"truth": 0, "right": 0, "wrong": 0, "missing": 0} for name in KEY_FIELDS}
    confident = {"n": 0, "right": 0}
    pages = 0
    started = time.monotonic()
    failures = []
    for case in cases:
        data = case.path.read_bytes()
        try:
            result = extract(data)
        except Exception as err:  # a crash is a miss for every field, and is reported
            failures.append(f"{case.path.name}: {err!r}")
            result = None
        if result is not None:
            pages += result.page_count
        for name in KEY_FIELDS:
            want = case.truth[name]
            fv = result.fields.get(name) if result else None
            if want is None:
                continue
            stats[name]["truth"] += 1
            if fv is None:
                stats[name]["missing"] += 1
                failures.append(f"{case.path.name}: {name} missing, want {want!r}")
                continue
            right = _matches(name, fv.value, case)
            stats[name]["right" if right else "wrong"] += 1
            if fv.confidence >= 0.9:
                confident["n"] += 1
                confident["right"] += int(right)
            if not right:
                failures.append(
                    f"{case.path.name}: {name} got {fv.value!r} want {want!r} "
                    f"(conf {fv.confidence})"
                )
    elapsed = time.monotonic() - started
    return {
        "stats": stats,
        "confident": confident,
        "pages": pages,
        "seconds": elapsed,
        "documents": len(cases),
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    import django

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ocr", action="store_true", help="render pages and OCR them")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--every", type=int, default=1, help="keep every n-th Factur-X PDF (all vendor PDFs)"
    )
    parser.add_argument("--verbose", action="store_true", help="list every wrong value")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from apinvoices.tests.extraction.conftest import find_corpus_dir

    corpus = find_corpus_dir()
    if corpus is None:
        sys.stderr.write("corpus not found (set AP_CORPUS_DIR)\n")
        return 2
    report = run(corpus, ocr=args.ocr, limit=args.limit, every=args.every)
    out = sys.stdout
    out.write(
        f"{'OCR' if args.ocr else 'text layer'}: {report['documents']} PDFs, "
        f"{report['pages']} pages in {report['seconds']:.1f} s\n"
    )
    out.write(f"{'field':15} {'truth':>5} {'right':>5} {'wrong':>5} {'miss':>5} {'acc':>6}\n")
    for name, row in report["stats"].items():
        acc = row["right"] / row["truth"] if row["truth"] else 0.0
        out.write(
            f"{name:15} {row['truth']:5} {row['right']:5} {row['wrong']:5} "
            f"{row['missing']:5} {acc:6.1%}\n"
        )
    c = report["confident"]
    if c["n"]:
        out.write(f"values with confidence >= 0.9: {c['n']}, right {c['right'] / c['n']:.1%}\n")
    if args.verbose:
        for line in report["failures"]:
            out.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
