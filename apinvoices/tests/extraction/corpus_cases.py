"""Collection-time access to the corpus ground truth, for parametrized tests.

Parametrization happens before fixtures run, so the corpus is looked up here directly; when
it is absent every parametrized test collapses into one case that skips with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apinvoices.extraction.evaluation import TruthRow, load_ground_truth
from apinvoices.tests.extraction.conftest import find_corpus_dir

CORPUS_MISSING = "invoice corpus not found: set AP_CORPUS_DIR or place it at ../shared/corpus"


def corpus_params(predicate: Callable[[TruthRow], bool]) -> list:
    root = find_corpus_dir()
    if root is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=CORPUS_MISSING), id="no-corpus")]
    return [pytest.param(row, id=row.relpath) for row in load_ground_truth(root) if predicate(row)]


def is_fail_sample(row: TruthRow) -> bool:
    return "/fail/" in f"/{row.file}"


def fail_pdf_params() -> list:
    """Every PDF under ``zugferd-corpus/ZUGFeRDv2/fail`` (the ground truth lists only some),
    as paths relative to ``zugferd-corpus``."""
    root = find_corpus_dir()
    if root is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=CORPUS_MISSING), id="no-corpus")]
    base = root / "zugferd-corpus"
    names = sorted(str(p.relative_to(base)) for p in (base / "ZUGFeRDv2" / "fail").rglob("*.pdf"))
    return [pytest.param(name, id=name) for name in names]
