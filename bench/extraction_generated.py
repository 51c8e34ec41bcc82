"""Text-layer accuracy on generated invoices, per layout, language and field.

    .venv/bin/python bench/extraction_generated.py --seed 23 [--count 60] [--dir DIR] [--errors N]

Generates ``count`` text-layer PDFs with ``apinvoices.demo.corpus`` (deterministic for a seed)
unless ``--dir`` points at an already generated folder, extracts each with the ``pdf_text`` path
and prints accuracy per field, per layout and per language, and the precision of values given
confidence >= 0.9 (what would be auto-accepted). Tune on one seed and report on another: the
generator's layouts are few, so a fix that only helps the tuning seed is overfitting.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import django

django.setup()

from apinvoices.extraction.errors import ExtractionError
from apinvoices.extraction.evaluation import normalise
from apinvoices.extraction.pipeline import extract_document

AUTO_ACCEPT = 0.9
# Calibration buckets: (lower bound inclusive, label).
BUCKETS = ((0.0, "< 0.5"), (0.5, "0.5-0.7"), (0.7, "0.7-0.8"), (0.8, "0.8-0.9"), (0.9, "0.9-0.95"),
           (0.95, ">= 0.95"))  # fmt: skip
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
OTHER_FIELDS = ("tax_amount", "vendor_name", "po_number", "document_type")
FIELDS = KEY_FIELDS + OTHER_FIELDS


def _matches(name: str, want, got, *, credit_note: bool = False) -> bool:
    """Equal after normalisation. On a credit note the generator's truth is unsigned while the
    PDF prints minus signs; the extractor keeps the printed sign (document_type says it is a
    credit), so amounts are compared by magnitude there."""
    if got is None:
        return False
    if credit_note and name in ("net_amount", "tax_amount", "total_amount"):
        return abs(normalise(name, want)) == abs(normalise(name, got))
    if name == "vendor_name":
        a = "".join(ch for ch in str(want).casefold() if ch.isalnum())
        b = "".join(ch for ch in str(got).casefold() if ch.isalnum())
        return bool(a and b) and (a == b or (min(len(a), len(b)) >= 4 and (a in b or b in a)))
    return normalise(name, want) == normalise(name, got)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def evaluate(folder: Path, *, show_errors: int = 0) -> dict:
    """Extract every PDF listed in ``folder/ground_truth.csv``; return the counters."""
    per_field = defaultdict(lambda: [0, 0, 0, 0])  # expected, correct, confident, confident-right
    per_layout = defaultdict(lambda: [0, 0])  # key fields expected, correct
    per_lang = defaultdict(lambda: [0, 0])
    calibration = {label: [0, 0] for _, label in BUCKETS}  # values given, right (truth present)
    errors: list[str] = []
    with (folder / "ground_truth.csv").open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["kind"] == "pdf"]
    for row in rows:
        try:
            result = extract_document(
                (folder / row["file"]).read_bytes(), filename=row["file"], force="pdf_text"
            )
        except ExtractionError as err:
            result = None
            errors.append(f"{row['file']}: failed: {err.code}")
        credit = row.get("document_type") == "credit_note"
        for name in FIELDS:
            raw = (row.get(name) or "").strip()
            fv = result.fields.get(name) if result else None
            got = fv.value if fv else None
            counts = per_field[name]
            if raw:
                counts[0] += 1
                ok = _matches(name, raw, got, credit_note=credit)
                counts[1] += ok
                if fv is not None:
                    bucket = next(lb for lower, lb in reversed(BUCKETS) if fv.confidence >= lower)
                    calibration[bucket][0] += 1
                    calibration[bucket][1] += ok
                if name in KEY_FIELDS:
                    for bucket in (per_layout[row["layout"]], per_lang[row["language"]]):
                        bucket[0] += 1
                        bucket[1] += ok
                if not ok:
                    errors.append(
                        f"{row['file']} {row['layout']}/{row['language']} {name}: "
                        f"want {raw!r} got {got!r} ({fv.confidence if fv else '-'})"
                    )
            if fv is not None and fv.confidence >= AUTO_ACCEPT:
                counts[2] += 1
                counts[3] += bool(raw) and _matches(name, raw, got, credit_note=credit)
    print(f"{len(rows)} text-layer PDFs from {folder}")
    print(f"{'field':16} {'accuracy':>9} {'>=0.9 share':>12} {'>=0.9 precision':>16}")
    for name in FIELDS:
        exp, ok, conf, conf_ok = per_field[name]
        print(f"{name:16} {_pct(ok, exp):>9} {_pct(conf, exp):>12} {_pct(conf_ok, conf):>16}")
    key_exp = sum(per_field[n][0] for n in KEY_FIELDS)
    key_ok = sum(per_field[n][1] for n in KEY_FIELDS)
    conf = sum(per_field[n][2] for n in FIELDS)
    conf_ok = sum(per_field[n][3] for n in FIELDS)
    print(f"{'KEY FIELDS':16} {_pct(key_ok, key_exp):>9}   all fields >=0.9 precision {_pct(conf_ok, conf)}")
    for title, table in (("layout", per_layout), ("language", per_lang)):
        print(f"key-field accuracy per {title}: " + ", ".join(
            f"{k} {_pct(v[1], v[0]).strip()}" for k, v in sorted(table.items())
        ))
    print("calibration (all fields with a truth value, by confidence): " + ", ".join(
        f"{label} {right}/{n}" + (f" {_pct(right, n).strip()}" if n else "")
        for label, (n, right) in calibration.items()
    ))
    for line in errors[:show_errors]:
        print("  " + line)
    return {
        "fields": dict(per_field),
        "key": (key_ok, key_exp),
        "confident": (conf_ok, conf),
        "calibration": calibration,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--dir", type=Path, help="an already generated folder (skips generation)")
    parser.add_argument("--errors", type=int, default=0, help="print N wrong fields")
    args = parser.parse_args(argv)
    if args.dir:
        evaluate(args.dir, show_errors=args.errors)
        return 0
    from apinvoices.demo.corpus import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), count=args.count, seed=args.seed, kinds=("pdf",))
        evaluate(Path(tmp), show_errors=args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
