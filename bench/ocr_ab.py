"""Two or more versions of ``ocr.py`` on the same pages, interleaved document by document.

    git show d67b9ec:apinvoices/extraction/ocr.py > /tmp/ocr_before.py
    nice -n 19 .venv/bin/python bench/ocr_ab.py before=/tmp/ocr_before.py \\
        after=apinvoices/extraction/ocr.py --sets fx,scan --demo-dir DIR [--raw] [--out A.json]

Each version is loaded as its own module, so neither sees the other's state. For every document
the versions run one after the other, in an order that rotates from document to document, so a
neighbour's burst of load lands on all of them alike: on a shared machine only CPU time compared
within one run means anything (bench/README.md). ``--raw`` adds raw English Tesseract on the
same pages as ``bench/extraction.py`` runs it. Sets: ``fx`` (the Factur-X PDFs of
``bench/extraction.py --sets ocr``, read by OCR) and the kinds of a generated demo set
(``scan``, ``photo``; DIR from ``python -m apinvoices.demo.corpus DIR --count 48 --seed S
--kinds scan,photo``). Fields are counted as ``bench/extraction.py`` counts them. ``--set
version:NAME=JSON`` overrides a module constant of one version (``after:BATCH_PAGES=4``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import extraction as bench  # noqa: E402 - sets up Django and OMP_THREAD_LIMIT first


def load_version(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(f"ocr_ab_{name}", path)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: pool workers find their task function by module name.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def extract(module, data: bytes):
    if data[:5] == b"%PDF-":
        return module.extract_pdf_ocr(data)
    return module.extract_image_ocr(data)


def items_for(sets: list[str], demo_dir: Path | None, ocr_docs: int) -> list[tuple[str, tuple]]:
    chosen = []
    if "fx" in sets:
        root = bench.corpus_dir()
        if root is None:
            raise SystemExit("corpus not found: set AP_CORPUS_DIR or place it at ../shared/corpus")
        rows = bench.truth_rows(root)
        fx = [
            (r.relpath, r.path, r.expected)
            for r in rows
            if r.kind == "facturx-pdf" and r.expected and "/XML-Rechnung/FX/" in r.relpath
        ][:ocr_docs]
        chosen += [("fx", item) for item in fx]
    demo_kinds = [s for s in sets if s != "fx"]
    if demo_kinds:
        if demo_dir is None:
            raise SystemExit("--demo-dir is needed for " + ",".join(demo_kinds))
        by_kind, why = bench.demo_sets(Path("/tmp"), quick=False, demo_dir=demo_dir)
        if why:
            raise SystemExit(why)
        for kind in demo_kinds:
            chosen += [(kind, item) for item in by_kind.get(kind, [])]
    return chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="+", metavar="NAME=PATH")
    parser.add_argument("--sets", default="fx,scan,photo")
    parser.add_argument("--demo-dir", type=Path)
    parser.add_argument("--ocr-docs", type=int, default=bench.FULL_OCR_DOCS)
    parser.add_argument("--raw", action="store_true", help="also raw English Tesseract")
    parser.add_argument("--set", action="append", default=[], metavar="VERSION:NAME=JSON")
    parser.add_argument("--out", type=Path, help="per-document results as JSON")
    args = parser.parse_args(argv)

    versions = {}
    for spec in args.versions:
        name, path = spec.split("=", 1)
        versions[name] = load_version(name, Path(path))
    for assignment in args.set:
        target, value = assignment.split("=", 1)
        name, attribute = target.split(":", 1)
        setattr(versions[name], attribute, json.loads(value))

    names = list(versions) + (["raw"] if args.raw else [])
    stats = {}
    rows = []
    for position, (kind, (label, path, expected)) in enumerate(
        items_for(args.sets.split(","), args.demo_dir, args.ocr_docs)
    ):
        data = path.read_bytes()
        pages = bench.page_count(data)
        row = {"set": kind, "file": label, "pages": pages}
        turn = position % len(names)
        for name in names[turn:] + names[:turn]:
            one = stats.setdefault((kind, name), bench.SetStats(f"{kind} {name}"))
            if name == "raw":
                clock = bench.raw_tesseract_seconds([(data, pages)], languages="eng")
                one.cpu += clock.cpu
                one.pages += pages
                row[name] = {"cpu": round(clock.cpu, 3)}
                continue
            before = one.total_correct
            clock = bench.Clock()
            try:
                with clock:
                    result = extract(versions[name], data)
            except bench.ExtractionError as err:
                result = None
                one.wrong_examples.append(f"{label}: failed: {err.code}")
            one.cpu += clock.cpu
            one.pages += pages
            wrong = len(one.wrong_examples)
            one.add(label, expected, result)
            row[name] = {
                "cpu": round(clock.cpu, 3),
                "right": one.total_correct - before,
                "wrong": one.wrong_examples[wrong:],
            }
        rows.append(row)
        print(
            f"{kind:5s} {label:60s} "
            + "  ".join(
                f"{n} {row[n]['cpu']:.2f}s" + (f" {row[n]['right']}" if "right" in row[n] else "")
                for n in names
            ),
            flush=True,
        )

    print()
    for kind in dict.fromkeys(k for k, _ in stats):
        for name in names:
            one = stats[(kind, name)]
            per_page = one.cpu / max(one.pages, 1)
            fields = (
                f"{one.total_correct}/{one.total_expected} fields "
                f"{100 * one.total_correct / max(one.total_expected, 1):.1f} %"
                if name != "raw"
                else ""
            )
            print(
                f"{kind:5s} {name:10s} {one.pages:3d} pages {per_page:.2f} cpu-s/page "
                f"({2 * 60 / per_page:.0f} pages/min on 2 cores) {fields}"
            )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
