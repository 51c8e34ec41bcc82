"""Fixtures shared by the extraction tests: where the public invoice corpus lives, and how
many ``tesseract`` processes a read starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytesseract

REPO_ROOT = Path(__file__).resolve().parents[3]


def find_corpus_dir() -> Path | None:
    """The shared corpus: ``$AP_CORPUS_DIR`` or ``../shared/corpus`` beside the repository."""
    configured = os.environ.get("AP_CORPUS_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [
        REPO_ROOT.parent / "shared" / "corpus",
        REPO_ROOT.parent.parent / "shared" / "corpus",
    ]
    for candidate in candidates:
        if (candidate / "README.md").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    found = find_corpus_dir()
    if found is None:
        pytest.skip("invoice corpus not found: set AP_CORPUS_DIR or place it at ../shared/corpus")
    return found


@pytest.fixture
def tesseract_runs(monkeypatch) -> list[str]:
    """The language set of every ``tesseract`` process started from here on, in order; the
    processes still run (real Tesseract), they are only counted."""
    runs: list[str] = []
    real_run = pytesseract.pytesseract.run_tesseract

    def counted(*args, **kwargs):
        runs.append(kwargs.get("lang"))
        return real_run(*args, **kwargs)

    monkeypatch.setattr(pytesseract.pytesseract, "run_tesseract", counted)
    return runs
