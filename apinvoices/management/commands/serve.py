"""Run the web server and a django-q2 worker together until Ctrl-C (the embedded default)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app (gunicorn) and run a background worker (qcluster) together."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind: str, web_workers: int, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        python = sys.executable
        children = {
            "web": subprocess.Popen(
                [
                    python, "-m", "gunicorn", "config.wsgi:application",
                    "--bind", bind, "--workers", str(web_workers),
                    "--access-logfile", "-", "--timeout", "120",
                    # Uploads up to AP_MAX_UPLOAD_BYTES are streamed, never held whole in memory.
                    "--limit-request-field_size", "16380",
                ]
            ),
            "worker": subprocess.Popen([python, "manage.py", "qcluster"]),
        }
        self.stdout.write(
            self.style.SUCCESS(f"AP workbench on http://{bind}/  (database: {settings.DATABASES['default']['NAME']})")
        )
        self.stdout.write("Press Ctrl-C to stop the web server and the worker.")

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in children.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping.")
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            for proc in children.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
            self.stdout.write("Stopped.")
