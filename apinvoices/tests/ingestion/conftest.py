"""Fixtures for the ingestion tests; the Dovecot server fixture comes from tests/servers."""

from __future__ import annotations

import pytest

from tests.servers.dovecot import dovecot  # noqa: F401  (session fixture: a real Dovecot)


@pytest.fixture
def ingest_only(settings):
    """Ingestion tests check ingestion: extraction is not queued on arrival."""
    settings.AP_EXTRACT_ON_INGEST = False
    return settings


@pytest.fixture(scope="session")
def bad_samples_dir(tmp_path_factory):
    from apinvoices.tests.samples.bad_inputs import write_bad_samples

    folder = tmp_path_factory.mktemp("bad-samples")
    write_bad_samples(folder)
    return folder
