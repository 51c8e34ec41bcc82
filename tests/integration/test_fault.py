"""The fault benchmark in miniature: the worker is SIGKILLed mid-flow and nothing is lost or doubled.

Runs one fault run of ``bench/fault.py`` (its child mode) on a handful of e-invoices and text
PDFs: a fresh SQLite file, a real Tryton on 127.0.0.1, a real ``manage.py qcluster`` whose whole
process group is SIGKILLed twice and restarted. Queue retry and ERP lease are shortened (see
the benchmark's docstring) so recovery fits the test's time; the documents are ingested through
the service up front (the drop folder's one-minute schedule would not).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.erp]

INVOICES = 10
KILLS = 2


@pytest.fixture(scope="module")
def tryton_template():
    from tests.servers.tryton import ensure_template

    try:
        return ensure_template()
    except RuntimeError as err:
        pytest.skip(f"Tryton unavailable: {err}")


def test_worker_sigkilled_twice_loses_no_invoice_and_posts_none_twice(tmp_path, tryton_template):
    """GIVEN 10 invoices queued for extraction and a real qcluster posting to a real Tryton
    WHEN the whole qcluster process group is SIGKILLed twice at random moments and restarted
    THEN every invoice ends posted, Tryton holds exactly one invoice per reference and party,
    no posting is left sending and no task is left in the broker."""
    sys.path.insert(0, str(REPO))
    from bench.fault import generate_documents

    docs = tmp_path / "docs"
    generate_documents(docs, count=INVOICES, mix=[("ubl", 2), ("cii", 1), ("pdf", 1)], seed=5)
    out = tmp_path / "fault.json"
    subprocess.run(
        [
            sys.executable, str(REPO / "bench" / "fault.py"), "--_child", "fault", "--_docs", str(docs),
            "--_out", str(out), "--kills", str(KILLS), "--_kill-span", "12", "--ingest", "service",
            "--workers", "2", "--task-timeout", "15", "--retry", "20", "--lease", "10",
            "--timeout", "120", "--seed", "5",
        ],
        cwd=REPO, check=True, timeout=240,
    )
    result = json.loads(out.read_text())
    assert len(result["kills"]) == KILLS, result["log"]
    assert result["documents"] == INVOICES
    assert result["lost"] == 0, result["not_posted"]
    assert result["erp_duplicates"] == 0, result["erp_duplicate_groups"]
    assert result["erp_invoices"] == INVOICES
    assert result["postings_sending"] == 0
    assert result["queue_rows_left"] == 0
    assert not result["timed_out"]
