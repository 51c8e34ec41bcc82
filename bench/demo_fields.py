"""Fields right per file on a generated demo set, with CPU per page: for A/B runs of one step.

    nice -n 19 .venv/bin/python bench/demo_fields.py DIR --kinds photo --shard 0/2 --out A0.json

DIR is written by ``python -m apinvoices.demo.corpus DIR --count 48 --seed 7 --kinds scan,photo``.
Counting is ``bench/extraction.py``'s own (``demo_sets``, ``run_pipeline``, ``SetStats``), one
file at a time so that two runs can be compared file by file; ``--shard i/n`` takes every n-th
file from the i-th, so that n processes share the set. ``--set module.NAME=value`` overrides a
module constant for the run (e.g. ``apinvoices.extraction.ocr.FIND_PAGE=0``). CPU seconds
include waited-for children (the tesseract processes).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import extraction as bench  # noqa: E402 - sets up Django first


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--kinds", default="scan,photo")
    parser.add_argument("--shard", default="0/1")
    parser.add_argument("--out", type=Path, help="per-file results as JSON")
    parser.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE")
    args = parser.parse_args(argv)
    for assignment in args.set:
        name, value = assignment.split("=", 1)
        module_name, attribute = name.rsplit(".", 1)
        module = importlib.import_module(module_name)
        setattr(module, attribute, type(getattr(module, attribute))(json.loads(value)))
    sets, _ = bench.demo_sets(Path("/tmp"), quick=False, demo_dir=args.dir)
    index, count = map(int, args.shard.split("/"))
    results = {}
    for kind in args.kinds.split(","):
        for label, path, expected in sets.get(kind, [])[index::count]:
            stats = bench.SetStats(kind)
            bench.run_pipeline(stats, [(label, path, expected)])
            results[label] = {
                "kind": kind,
                "right": stats.total_correct,
                "expected": stats.total_expected,
                "cpu": round(stats.cpu, 3),
                "pages": stats.pages,
                "wrong": stats.wrong_examples,
            }
        rows = [r for r in results.values() if r["kind"] == kind]
        right, expected = sum(r["right"] for r in rows), sum(r["expected"] for r in rows)
        cpu, pages = sum(r["cpu"] for r in rows), sum(r["pages"] for r in rows)
        if expected:
            print(
                f"{kind}: {right}/{expected} = {100 * right / expected:.1f} % fields right, "
                f"{cpu:.1f} cpu-s, {pages} pages, {cpu / max(pages, 1):.2f} cpu-s/page"
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
