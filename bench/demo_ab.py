"""Interleaved A/B of module settings on a generated demo set: fields right and CPU per page.

    nice -n 19 .venv/bin/python bench/demo_ab.py DIR --kinds photo --raw --out AB.json \
        --var 'old:apinvoices.extraction.imageprep.PHOTO_DPI=300' --var 'new:'
    .venv/bin/python bench/demo_ab.py --summary AB.json [--diff]

Every file is read once per variant, the variants one after another, so that a busy machine
weighs on all of them alike (CPU seconds include the waited-for tesseract processes). A
variant is ``name:module.NAME=json;module.NAME=json`` (module constants set for its reads, then
restored). ``--raw`` also times raw English Tesseract on the file as it came (bench
``raw_tesseract_seconds``). Counting is ``bench/extraction.py``'s own (``demo_sets``,
``field_matches``); key fields are the eight of its seed-41 table.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import extraction as bench  # noqa: E402 - sets up Django first

KEY_FIELDS = ("invoice_number", "issue_date", "due_date", "currency", "net_amount",
              "total_amount", "vendor_tax_id", "vendor_iban")  # fmt: skip


def cpu_now() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def parse_variant(text: str) -> tuple[str, list[tuple[object, str, object]]]:
    name, _, assignments = text.partition(":")
    changes = []
    for assignment in filter(None, assignments.split(";")):
        target, value = assignment.split("=", 1)
        module_name, attribute = target.rsplit(".", 1)
        changes.append((importlib.import_module(module_name), attribute, json.loads(value)))
    return name, changes


def run(args) -> dict:
    from apinvoices.extraction.errors import ExtractionError
    from apinvoices.extraction.pipeline import extract_document

    variants = [parse_variant(v) for v in args.var or ["base:"]]
    index, count = map(int, args.shard.split("/"))
    force = None
    if args.dir is None:  # the FX set of bench/extraction.py, forced through OCR
        rows = bench.truth_rows(bench.corpus_dir())
        items = [(r.relpath, r.path, r.expected) for r in rows
                 if r.kind == "facturx-pdf" and r.expected and "/XML-Rechnung/FX/" in r.relpath]
        items, force = items[: bench.FULL_OCR_DOCS], "ocr"
    else:
        sets, _ = bench.demo_sets(Path("/tmp"), quick=False, demo_dir=args.dir)
        items = [item for kind in args.kinds.split(",") for item in sets.get(kind, [])]
    results = {}
    for label, path, expected in items[index::count]:
        data = path.read_bytes()
        kind = "fx-ocr" if force else path.stem.rsplit("_", 1)[-1]
        row = {"pages": bench.page_count(data), "kind": kind}
        for name, changes in variants:
            saved = [(module, attr, getattr(module, attr)) for module, attr, _ in changes]
            for module, attribute, value in changes:
                setattr(module, attribute, value)
            start = cpu_now()
            try:
                result, error = extract_document(data, filename=path.name, force=force), None
            except ExtractionError as err:
                result, error = None, str(err.code)
            spent = cpu_now() - start
            for module, attribute, value in saved:
                setattr(module, attribute, value)
            fields = {}
            for field, want in expected.items():
                got = result.fields.get(field) if result else None
                ok = got is not None and bench.field_matches(field, want, got.value)
                fields[field] = [ok, str(want), None if got is None else str(got.value)]
            row[name] = {"cpu": spent, "fields": fields, "error": error}
        if args.raw:
            start = cpu_now()
            bench.raw_tesseract_seconds([(data, row["pages"])], languages="eng")
            row["raw"] = {"cpu": cpu_now() - start}
        results[label] = row
        print(label, *(f"{n}={sum(f[0] for f in row[n]['fields'].values())}/"
                       f"{len(row[n]['fields'])} {row[n]['cpu']:.1f}s" for n, _ in variants),
              flush=True)  # fmt: skip
    return results


def summary(results: dict, *, diff: bool) -> None:
    by_kind = collections.defaultdict(dict)
    for label, row in results.items():
        by_kind[row["kind"]][label] = row
    for kind, rows in sorted(by_kind.items()):
        names = [k for k in next(iter(rows.values())) if k not in ("pages", "kind", "raw")]
        pages = sum(r["pages"] for r in rows.values())
        raw = sum(r.get("raw", {}).get("cpu", 0.0) for r in rows.values())
        line = f"{kind}: {len(rows)} files, {pages} pages"
        print(line + (f", raw eng {raw / pages:.2f} cpu-s/page" if raw else ""))
        for name in names:
            fields = [(f, v[0]) for r in rows.values() for f, v in r[name]["fields"].items()]
            key = [ok for f, ok in fields if f in KEY_FIELDS]
            right = sum(ok for _, ok in fields)
            cpu = sum(r[name]["cpu"] for r in rows.values())
            print(
                f"  {name:10s} key {sum(key)}/{len(key)} {100 * sum(key) / len(key):.1f} %  "
                f"all {right}/{len(fields)} {100 * right / len(fields):.1f} %  "
                f"{cpu / pages:.2f} cpu-s/page" + (f"  ours/raw {cpu / raw:.2f}x" if raw else "")
            )
        if diff:
            for label, row in sorted(rows.items()):
                for name in names[1:]:
                    for field, (ok, want, got) in row[name]["fields"].items():
                        if ok != row[names[0]]["fields"][field][0]:
                            before = row[names[0]]["fields"][field][2]
                            print(f"    {label} {field}: {name} {'+' if ok else '-'} want "
                                  f"{want!r}, {names[0]} {before!r}, {name} {got!r}")  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, nargs="?", help="generated set (default: FX via OCR)")
    parser.add_argument("--kinds", default="photo")
    parser.add_argument("--shard", default="0/1", help="i/n: every n-th file from the i-th")
    parser.add_argument("--var", action="append", default=[], metavar="NAME:MODULE.NAME=JSON")
    parser.add_argument("--raw", action="store_true", help="time raw English Tesseract too")
    parser.add_argument("--out", type=Path, help="per-file results as JSON")
    parser.add_argument("--summary", type=Path, nargs="*", help="summarise --out files of one set")
    parser.add_argument("--diff", action="store_true", help="fields that differ from variant 1")
    args = parser.parse_args(argv)
    if args.summary:
        results = {}
        for path in args.summary:
            results.update(json.loads(path.read_text()))
    else:
        results = run(args)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))
    summary(results, diff=args.diff)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
