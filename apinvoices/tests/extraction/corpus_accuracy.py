"""Field accuracy of text-layer and OCR extraction on the public corpus PDFs.

Run from the repository root::

    .venv/bin/python -m apinvoices.tests.extraction.corpus_accuracy [--ocr] [--limit N] [--report]

Ground truth: the invoice2data JSON files and, for Factur-X PDFs, the corpus's
``ground_truth.csv`` (read from the embedded XML; the embedded XML itself is not used by the
extractors under test). "total" counts as right when it equals the grand total (BT-112) or the
amount due (BT-115).

Measured 2026-11-25 on branch ``exttext``, 2 shared cores (load average 10-14):

=================  ============================  =================================
field              text layer, 91 PDFs           OCR, 31 PDFs / 58 pages (--every 4)
=================  ============================  =================================
invoice_number     82/89  92.1 % (6 unprinted)   29/30  96.7 %
issue_date         84/89  94.4 % (5)             29/30  96.7 %
due_date           28/32  87.5 % (4)              5/6   83.3 %
currency           88/88 100.0 %                 29/29 100.0 %
net_amount         81/85  95.3 % (3)             25/27  92.6 %
total_amount       85/88  96.6 % (3)             27/29  93.1 %
vendor_tax_id      75/76  98.7 % (1)             21/21 100.0 %
vendor_iban        32/35  91.4 % (2)              7/9   77.8 %
conf >= 0.9 right  303/310 97.7 %                67/67 100.0 %
=================  ============================  =================================

"(n unprinted)": misses whose expected value the page does not print at all (``--report`` lists
them): 24 of the 27 text-layer misses. All 7 text-layer values wrong at >= 0.9 are such values
(Mustang RE-20150613_503 and RE-20201121_508, sample_inofficial_20190125 print another invoice
than their embedded XML); on the values the page prints, >= 0.9 is 303/303 right.
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
    vendor_names: tuple[str, ...] = ()  # any of these counts as the vendor's name


def _letters(value) -> str:
    return "".join(ch for ch in str(value or "").casefold() if ch.isalnum())


def vendor_name_matches(got, names: tuple[str, ...]) -> bool:
    """Equal letters and digits, or one name containing the other (truth "Coolblue B.V." for a
    printed legal name, a GLN prefix in the XML), never for fewer than 4 characters."""
    b = _letters(got)
    for name in names:
        a = _letters(name)
        if a and b and (a == b or (min(len(a), len(b)) >= 4 and (a in b or b in a))):
            return True
    return False


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
        names = tuple(str(data[k]) for k in ("partner_name", "issuer") if data.get(k))
        cases.append(Case(pdf, truth, vendor_names=names))
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
            names = (row["seller_name"],) if row.get("seller_name") else ()
            cases.append(Case(zugferd / row["file"], truth, alt, vendor_names=names))
    return cases


def _matches(name: str, got, case: Case) -> bool:
    want = case.truth[name]
    if name == "invoice_number" or name in ("vendor_tax_id", "vendor_iban"):
        return _compact(got) == want
    if name == "total_amount":
        return got == want or got in case.alt_totals
    return got == want


# Confidence buckets of the calibration table: (lower bound inclusive, label).
BUCKETS = ((0.0, "< 0.5"), (0.5, "0.5-0.7"), (0.7, "0.7-0.8"), (0.8, "0.8-0.9"), (0.9, "0.9-0.95"),
           (0.95, ">= 0.95"))  # fmt: skip


def _bucket(confidence: float) -> str:
    label = BUCKETS[0][1]
    for lower, name in BUCKETS:
        if confidence >= lower:
            label = name
    return label


def truth_on_page(name: str, want, text: str) -> bool:
    """Whether the expected value is printed anywhere in the extracted page text, in any of
    the formats the parsers read. A miss whose truth is not printed is no extraction error:
    the PDF shows other values than its embedded XML (or the value lives in an image)."""
    from apinvoices.extraction import fields as F

    if name in ("invoice_number", "vendor_tax_id", "vendor_iban"):
        return str(want) in re.sub(r"[\s#]", "", text).upper().replace(".", "") or str(
            want
        ) in re.sub(r"[\s#]", "", text).upper()
    if name in ("issue_date", "due_date"):
        return any(
            d.value == want for order in (F.DMY, F.MDY) for d in F.find_dates(text, None, order)
        )
    if name == "currency":
        return want in F.find_currencies(text)
    for token in re.findall(r"-?\d[\d.,' \u00a0]*\d|\d", text):
        # "24.99 5.00 29.99" is three amounts, "1 234,56" one: try the run and its pieces.
        for piece in [token, *token.split()]:
            for hint in (",", "."):
                if F.parse_amount(piece.strip(), hint) == want:
                    return True
    return False


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
    calibration = {label: [0, 0] for _, label in BUCKETS}  # bucket -> [values, right]
    vendor = {"truth": 0, "right": 0, "confident": 0, "confident_right": 0}
    misses: list[dict] = []
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
        if case.vendor_names:
            fv = result.fields.get("vendor_name") if result else None
            right = fv is not None and vendor_name_matches(fv.value, case.vendor_names)
            vendor["truth"] += 1
            vendor["right"] += int(right)
            if fv is not None and fv.confidence >= 0.9:
                vendor["confident"] += 1
                vendor["confident_right"] += int(right)
                if not right:
                    failures.append(f"{case.path.name}: vendor_name got {fv.value!r} at >= 0.9")
        for name in KEY_FIELDS:
            want = case.truth[name]
            fv = result.fields.get(name) if result else None
            if want is None:
                continue
            stats[name]["truth"] += 1
            if fv is None or not _matches(name, fv.value, case):
                misses.append(
                    {
                        "file": str(case.path.relative_to(corpus)),
                        "field": name,
                        "want": want,
                        "got": fv.value if fv else None,
                        "confidence": fv.confidence if fv else None,
                        "on_page": truth_on_page(name, want, result.text if result else ""),
                    }
                )
            if fv is None:
                stats[name]["missing"] += 1
                failures.append(f"{case.path.name}: {name} missing, want {want!r}")
                continue
            right = _matches(name, fv.value, case)
            stats[name]["right" if right else "wrong"] += 1
            calibration[_bucket(fv.confidence)][0] += 1
            calibration[_bucket(fv.confidence)][1] += int(right)
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
        "calibration": calibration,
        "vendor_name": vendor,
        "misses": misses,
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
    parser.add_argument(
        "--report",
        action="store_true",
        help="list every miss with file, expected, got, confidence and whether the expected "
        "value is printed on the page at all",
    )
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
    absent: dict[str, int] = {}
    for miss in report["misses"]:
        if not miss["on_page"]:
            absent[miss["field"]] = absent.get(miss["field"], 0) + 1
    out.write(
        f"{'field':15} {'truth':>5} {'right':>5} {'wrong':>5} {'miss':>5} {'acc':>6}"
        f"  {'not printed':>11} {'acc printed':>11}\n"
    )
    for name, row in report["stats"].items():
        acc = row["right"] / row["truth"] if row["truth"] else 0.0
        printed = row["truth"] - absent.get(name, 0)
        acc_printed = row["right"] / printed if printed else 0.0
        out.write(
            f"{name:15} {row['truth']:5} {row['right']:5} {row['wrong']:5} "
            f"{row['missing']:5} {acc:6.1%}  {absent.get(name, 0):11} {acc_printed:11.1%}\n"
        )
    total = sum(row["truth"] for row in report["stats"].values())
    right = sum(row["right"] for row in report["stats"].values())
    printed = total - sum(absent.values())
    out.write(
        f"{'KEY FIELDS':15} {total:5} {right:5} {'':5} {'':5} {right / total:6.1%}"
        f"  {sum(absent.values()):11} {right / printed:11.1%}\n"
    )
    v = report["vendor_name"]
    if v["truth"]:
        out.write(
            f"vendor_name (not a key field): {v['right']}/{v['truth']} right "
            f"{v['right'] / v['truth']:.1%}; at >= 0.9: {v['confident_right']}/{v['confident']}\n"
        )
    c = report["confident"]
    if c["n"]:
        out.write(f"values with confidence >= 0.9: {c['n']}, right {c['right'] / c['n']:.1%}\n")
        unprinted = sum(
            1
            for miss in report["misses"]
            if not miss["on_page"] and (miss["confidence"] or 0) >= 0.9
        )
        n = c["n"] - unprinted
        out.write(
            f"  of those, wrong only against an XML value the page does not print: {unprinted};"
            f" precision on the others: {c['right']}/{n} {c['right'] / n if n else 0:.1%}\n"
        )
    out.write("calibration (key-field values given, by confidence):\n")
    for _, label in BUCKETS:
        n, right = report["calibration"][label]
        share = f"{right / n:6.1%}" if n else "     -"
        out.write(f"  {label:>9}: {n:4} values, {right:4} right {share}\n")
    if args.report:
        out.write("misses (file, field, expected, got, confidence, truth printed on the page):\n")
        for miss in sorted(report["misses"], key=lambda m: (m["field"], m["file"])):
            conf = "-" if miss["confidence"] is None else f"{miss['confidence']:.3f}"
            out.write(
                f"  {miss['field']:14} {miss['file']}: want {miss['want']!s} got {miss['got']!s} "
                f"conf {conf} {'printed' if miss['on_page'] else 'NOT PRINTED'}\n"
            )
    if args.verbose:
        for line in report["failures"]:
            out.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
