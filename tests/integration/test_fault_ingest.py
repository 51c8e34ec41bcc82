"""A process SIGKILLed right after an arrival commits still leaves the invoice's extraction queued.

The ORM broker's queue is a table of the same database: the task row commits with the Document
and Invoice (see ``apinvoices.ingestion.service.queue_extraction``). Before, the task was queued
in an on-commit hook, and a kill between the commit and the hook left an invoice in ``received``
that nothing would ever extract (a drop-folder re-scan only finds a duplicate of the Document).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, connections
from django_q.models import OrmQ

from apinvoices.models import Invoice

REPO = Path(__file__).resolve().parents[2]

# Transactional: the subprocess must see committed rows, and we must see its commits.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

KILL_AFTER_COMMIT = """
import os, signal
from django.db.backends.base.base import BaseDatabaseWrapper
# Runs right after COMMIT, before any on-commit hook: the worst moment to die.
BaseDatabaseWrapper.run_and_clear_commit_hooks = lambda self: os.kill(os.getpid(), signal.SIGKILL)
import random
from apinvoices.demo.render_xml import render_ubl
from apinvoices.demo.specs import random_spec
from apinvoices.ingestion.service import document_ingest
ubl = render_ubl(random_spec(random.Random(%(n)s), einvoice=True))
result = document_ingest(data=ubl, filename='f.xml', channel='upload')
print('NOT KILLED', result)
"""


def test_ingest_killed_between_commit_and_hooks_leaves_extraction_queued(tmp_path):
    """GIVEN the ingesting process is SIGKILLed right after its transaction commits
    WHEN we look at the database afterwards
    THEN the new invoice is ``received`` and its extraction task is in the broker's queue."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",  # the ORM broker, not inline tasks
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "AP_VAR_DIR": str(tmp_path),
    }
    connections.close_all()  # the subprocess must not wait on a lock we hold
    proc = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", KILL_AFTER_COMMIT % {"n": os.getpid()}],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -9, proc.stdout[-2000:] + proc.stderr[-2000:]

    invoice = Invoice.objects.get()
    assert invoice.state == Invoice.State.RECEIVED
    assert [row.name() for row in OrmQ.objects.all()] == [f"extract-invoice-{invoice.pk}"]
