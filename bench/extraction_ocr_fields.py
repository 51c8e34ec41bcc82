"""Field rules on cached OCR words: OCR a generated scan/photo set once, then re-run only the
field rules (``layout.extract_invoice``) against its ground truth.

    .venv/bin/python bench/extraction_ocr_fields.py DEMO_DIR --cache CACHE_DIR [--errors N]

DEMO_DIR is written by ``python -m apinvoices.demo.corpus DEMO_DIR --kinds scan,photo``. The
first run OCRs every file through ``extract_document`` (as ``bench/extraction.py`` does) and
stores the words Tesseract returned, one pickle per file in CACHE_DIR; later runs read them,
so a change to the field rules is measured in seconds instead of the OCR's minutes. The cache
is only valid for the ``ocr.py`` that wrote it: delete it after changing OCR or image
preparation. A file whose OCR raised (e.g. "image too poor") counts every field as wrong, as
in ``bench/extraction.py``. Comparison is ``bench/extraction.py``'s ``field_matches``.
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import sys
from collections import defaultdict
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import django

django.setup()

import logging

logging.disable(logging.CRITICAL)

from extraction import BENCH_FIELDS, field_matches

from apinvoices.extraction import ocr
from apinvoices.extraction.errors import ExtractionError
from apinvoices.extraction.evaluation import normalise
from apinvoices.extraction.layout import Page, extract_invoice
from apinvoices.extraction.pipeline import extract_document

KEY_FIELDS = ("invoice_number", "issue_date", "due_date", "currency", "net_amount",
              "total_amount", "vendor_tax_id", "vendor_iban")  # fmt: skip
AUTO_ACCEPT = 0.9


def _rows(demo: Path) -> list[dict]:
    with (demo / "ground_truth.csv").open(newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["kind"] in ("scan", "photo")]


def fill_cache(demo: Path, cache: Path) -> None:
    """OCR every file not cached yet and keep the pages the field rules were given."""
    cache.mkdir(parents=True, exist_ok=True)
    seen: dict[str, list[Page]] = {}
    original = ocr.extract_invoice

    def keep(pages, **kwargs):
        seen["pages"] = pages
        return original(pages, **kwargs)

    ocr.extract_invoice = keep
    try:
        for row in _rows(demo):
            target = cache / f"{row['file']}.pkl"
            if target.exists() or (cache / f"{row['file']}.failed").exists():
                continue
            seen.clear()
            try:
                extract_document((demo / row["file"]).read_bytes(), filename=row["file"])
            except ExtractionError as err:
                (cache / f"{row['file']}.failed").write_text(err.message)
                continue
            target.write_bytes(pickle.dumps(seen["pages"]))
            print(f"OCR {row['file']}", file=sys.stderr, flush=True)
    finally:
        ocr.extract_invoice = original


def _load(path: Path) -> list[Page]:
    pages = pickle.loads(path.read_bytes())
    for page in pages:
        page.__dict__.pop("_index", None)  # line index keyed by id(), stale after unpickling
    return pages


def evaluate(demo: Path, cache: Path, *, errors: int) -> None:
    # kind -> field -> [expected, right, given >= 0.9, right at >= 0.9]
    counts = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    wrong: list[str] = []
    for row in _rows(demo):
        target = cache / f"{row['file']}.pkl"
        result = extract_invoice(_load(target), source="ocr", kind="ocr") if target.exists() else None
        for name in BENCH_FIELDS:
            raw = (row.get(name) or "").strip()
            if not raw:
                continue
            want = normalise(name, raw)
            got = result.fields.get(name) if result is not None else None
            ok = got is not None and field_matches(name, want, got.value)
            cell = counts[row["kind"]][name]
            cell[0] += 1
            cell[1] += ok
            if got is not None and got.confidence >= AUTO_ACCEPT:
                cell[2] += 1
                cell[3] += ok
            if not ok:
                shown = f"{got.value!r} ({got.confidence})" if got is not None else "None"
                wrong.append(f"  {row['file']} {row['layout']}/{row['language']} {name}: "
                             f"want {want!r} got {shown}")  # fmt: skip
    for kind, fields in sorted(counts.items()):
        total = [sum(c[i] for c in fields.values()) for i in range(4)]
        key = [sum(fields[n][i] for n in KEY_FIELDS if n in fields) for i in range(4)]
        print(f"{kind}: all fields {total[1]}/{total[0]} {100 * total[1] / total[0]:.1f} %, "
              f"key fields {key[1]}/{key[0]} {100 * key[1] / key[0]:.1f} %, "
              f"at >= 0.9: {total[3]}/{total[2]} right")  # fmt: skip
        for name, (n, right, sure, sure_right) in fields.items():
            print(f"   {name:15} {right:3}/{n:3} {100 * right / n:5.1f} %   >= 0.9: {sure_right}/{sure}")
    for line in wrong[:errors]:
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo_dir", type=Path)
    parser.add_argument("--cache", type=Path, required=True, help="one pickle of OCR words per file")
    parser.add_argument("--errors", type=int, default=0, help="print N wrong fields")
    args = parser.parse_args(argv)
    fill_cache(args.demo_dir, args.cache)
    evaluate(args.demo_dir, args.cache, errors=args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
