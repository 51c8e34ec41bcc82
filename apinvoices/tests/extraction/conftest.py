"""Fixtures shared by the extraction tests: where the public invoice corpus lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
