"""A real django-q2 worker (``manage.py qcluster``) picks up a queued task and runs it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _manage(env, *args, timeout=120):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True,
        text=True, timeout=timeout,
    )


def test_qcluster_runs_a_queued_task_against_its_own_database(tmp_path):
    db = tmp_path / "q.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{db}",
        "AP_VAR_DIR": str(tmp_path),
        "AP_Q_WORKERS": "1",
    }
    _manage(env, "migrate", "--no-input")
    # Queue through the ORM broker exactly as the web process does (not synchronously).
    _manage(
        env, "shell", "-c",
        "from django_q.tasks import async_task; "
        "async_task('apinvoices.money.quantize_amount', '2.345', 'EUR', task_name='qcluster-smoke')",
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=REPO, env=env,
        stdout=(tmp_path / "qcluster.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        row = None
        while time.monotonic() < deadline and row is None:
            time.sleep(0.5)
            with sqlite3.connect(db) as conn:
                row = conn.execute(
                    "select success, result from django_q_task where name = 'qcluster-smoke'"
                ).fetchone()
        assert row is not None, "the worker did not finish the task within 60 s"
        success, result = row
        assert success == 1
    finally:
        stop_started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            pytest.fail("qcluster did not stop within 30 s of SIGTERM")
    assert time.monotonic() - stop_started < 30
