"""Cross-app fixtures: the cast of users, media in a temp folder, the corpus location."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pytest

from apinvoices.roles import Role

REPO_ROOT = Path(__file__).resolve().parent
ARTEFACTS_DIR = REPO_ROOT / "test-artefacts"


class Cast(NamedTuple):
    clerk: object
    second_clerk: object
    approver: object
    second_approver: object
    admin: object
    auditor: object
    outsider: object  # logged in, but in no role


@pytest.fixture
def cast(db) -> Cast:
    from apinvoices.tests.factories import UserFactory

    return Cast(
        clerk=UserFactory(username="clerk", roles=[Role.CLERK]),
        second_clerk=UserFactory(username="clerk2", roles=[Role.CLERK]),
        approver=UserFactory(username="approver", roles=[Role.APPROVER]),
        second_approver=UserFactory(username="approver2", roles=[Role.APPROVER]),
        admin=UserFactory(username="apadmin", roles=[Role.ADMIN], is_staff=True),
        auditor=UserFactory(username="auditor", roles=[Role.AUDITOR]),
        outsider=UserFactory(username="outsider"),
    )


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Originals written by a test go to its own temp folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AP_ERP_EXPORT_DIR = tmp_path / "erp-export"


@pytest.fixture(autouse=True)
def _fresh_erp_sessions():
    """A worker's reused ERP backend must not carry one test's ERP configuration into the next."""
    from erp_integration.backends import forget_worker_backend

    forget_worker_backend()
    yield
    forget_worker_backend()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    path = Path(os.environ.get("AP_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
    if not path.is_dir():
        pytest.skip(f"public invoice corpus not found at {path} (set AP_CORPUS_DIR)")
    return path


@pytest.fixture(scope="session")
def artefacts_dir() -> Path:
    ARTEFACTS_DIR.mkdir(exist_ok=True)
    return ARTEFACTS_DIR
