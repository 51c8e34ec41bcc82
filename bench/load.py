"""Benchmark: the clerk's pages under load, on SQLite and on PostgreSQL side by side.

For each database it builds a fresh database with N invoices and their history (bulk_create),
serves it with gunicorn on a free port of 127.0.0.1, logs a clerk in and drives the inbox, the
exception queue and invoice pages with a bounded load generator (threads, a fixed request count
and a time limit). It prints p50/p95 latency, requests per second and the queries each page
makes. PostgreSQL is a throw-away cluster started here (needs /usr/lib/postgresql/15/bin).

    .venv/bin/python bench/load.py [--invoices 5000] [--requests 600] [--threads 4]
                                   [--time-limit 60] [--db sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "bench-clerk-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Inside the seeding subprocess (Django configured from the environment) ---------------------


def seed(n_invoices: int) -> dict:
    """Clerk, vendors and ``n_invoices`` invoices with events and exceptions; returns the
    queries each page costs (Django test client, same settings as gunicorn)."""
    import django

    django.setup()
    import hashlib
    from datetime import date, timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from apinvoices.models import Channel, Document, Invoice, InvoiceEvent, InvoiceException, Vendor
    from apinvoices.roles import Role

    call_command("migrate", verbosity=0)
    rng = random.Random(11)
    clerk = get_user_model().objects.create_user("bench-clerk", password=PASSWORD)
    clerk.groups.add(Group.objects.get(name=Role.CLERK))
    vendors = Vendor.objects.bulk_create(
        [Vendor(name=f"Bench Vendor {i} GmbH", country="DE", default_currency="EUR") for i in range(200)]
    )
    states = [Invoice.State.NEEDS_REVIEW] * 3 + [Invoice.State.EXCEPTION] + [
        Invoice.State.AWAITING_APPROVAL, Invoice.State.APPROVED, Invoice.State.POSTED, Invoice.State.PAID] * 2
    now = timezone.now()
    docs = Document.objects.bulk_create([
        Document(sha256=hashlib.sha256(f"bench-{i}".encode()).hexdigest(), file=f"bench/{i}.pdf", size=1000,
                 kind=Document.Kind.PDF, content_type="application/pdf", original_filename=f"{i}.pdf",
                 channel=Channel.UPLOAD, received_at=now - timedelta(minutes=i))
        for i in range(n_invoices)
    ], batch_size=1000)
    invoices = []
    for i, doc in enumerate(docs):
        vendor = vendors[i % len(vendors)]
        net = Decimal(rng.randrange(1000, 500000)) / 100
        invoices.append(Invoice(
            document=doc, state=rng.choice(states), vendor=vendor, vendor_name=vendor.name,
            invoice_number=f"B-{i:07d}", invoice_number_normalized=f"B{i:07d}",
            issue_date=date.today() - timedelta(days=rng.randrange(60)),
            due_date=date.today() + timedelta(days=rng.randrange(-20, 40)), currency="EUR",
            net_amount=net, tax_amount=(net * Decimal("0.19")).quantize(Decimal("0.01")),
            total_amount=net + (net * Decimal("0.19")).quantize(Decimal("0.01")),
            created_at=doc.received_at,
        ))
    invoices = Invoice.objects.bulk_create(invoices, batch_size=1000)
    events, exceptions = [], []
    for inv in invoices:
        events.append(InvoiceEvent(invoice=inv, kind=InvoiceEvent.Kind.RECEIVED, source="upload",
                                   created_at=inv.created_at))
        events.append(InvoiceEvent(invoice=inv, kind=InvoiceEvent.Kind.EXTRACTED, source="extract",
                                   created_at=inv.created_at + timedelta(seconds=30)))
        events.append(InvoiceEvent(invoice=inv, kind=InvoiceEvent.Kind.STATE, source="checks",
                                   from_state="received", to_state=inv.state,
                                   created_at=inv.created_at + timedelta(minutes=1)))
        if inv.state == Invoice.State.EXCEPTION:
            exceptions.append(InvoiceException(invoice=inv, kind="dates", severity="blocking",
                                               message="Due date before issue date"))
    InvoiceEvent.objects.bulk_create(events, batch_size=2000)
    InvoiceException.objects.bulk_create(exceptions, batch_size=1000)

    client = Client()
    client.force_login(clerk)
    sample = invoices[len(invoices) // 2]
    pages = {"inbox": "/", "exceptions": "/?state=exception", "invoice": f"/invoices/{sample.pk}/"}
    queries = {}
    for name, url in pages.items():
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            status = client.get(url).status_code
        assert status == 200, (url, status)
        queries[name] = len(ctx)
    return {"queries": queries, "invoice_ids": [inv.pk for inv in invoices[:2000]]}


# --- In the driver --------------------------------------------------------------------------------


@contextmanager
def postgres_cluster(workdir: Path):
    """A throw-away PostgreSQL cluster on a free port; yields its DATABASE_URL."""
    data = workdir / "pg"
    data.mkdir()
    as_pg: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data} "
            "-c fsync=off -c synchronous_commit=off")
    subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"),
                    "-o", opts, "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_pg, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "bench"], check=True, capture_output=True)
        yield f"postgres://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)


def drive(base: str, paths: list[str], *, requests_total: int, threads: int, time_limit: float) -> dict:
    """Log in, then ``threads`` sessions take paths until ``requests_total`` are done or time is up."""
    import requests

    def login() -> requests.Session:
        session = requests.Session()
        page = session.get(f"{base}/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        resp = session.post(f"{base}/login/", data={"username": "bench-clerk", "password": PASSWORD,
                                                    "csrfmiddlewaretoken": token},
                            headers={"Referer": f"{base}/login/"}, timeout=30, allow_redirects=False)
        assert resp.status_code == 302, resp.status_code
        return session

    sessions = [login() for _ in range(threads)]
    lock = threading.Lock()
    todo = iter(range(requests_total))
    timings: dict[str, list[float]] = {}
    errors = []
    deadline = time.monotonic() + time_limit

    def worker(session, seed_):
        rng = random.Random(seed_)
        while time.monotonic() < deadline:
            with lock:
                if next(todo, None) is None:
                    return
            kind, path = rng.choice(paths)
            start = time.perf_counter()
            resp = session.get(base + path, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                timings.setdefault(kind, []).append(elapsed)
                if resp.status_code != 200:
                    errors.append((path, resp.status_code))

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(s, i)) for i, s in enumerate(sessions)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    done = sum(len(v) for v in timings.values())

    def pct(values, p):
        values = sorted(values)
        return values[max(0, min(len(values) - 1, round(p * len(values)) - 1))]

    every = [x for v in timings.values() for x in v]
    return {
        "requests": done, "seconds": round(wall, 2), "req_per_s": round(done / wall, 1),
        "p50_ms": round(statistics.median(every) * 1000, 1), "p95_ms": round(pct(every, 0.95) * 1000, 1),
        "per_page_p50_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in sorted(timings.items())},
        "errors": errors[:5], "error_count": len(errors),
    }


def run_side(db: str, args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"ap-load-{db}-"))
    os.chmod(workdir, 0o755)
    try:
        with (postgres_cluster(workdir) if db == "postgres" else _nullctx(f"sqlite:///{workdir / 'load.sqlite3'}")) as url:
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url,
                   "AP_VAR_DIR": str(workdir / "var"), "DJANGO_DEBUG": "0", "AP_LOG_LEVEL": "WARNING",
                   "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "AP_EXTRACT_ON_INGEST": "0"}
            env.pop("REDIS_URL", None)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, __file__, "--seed", str(args.invoices)], cwd=REPO, env=env,
                                 check=True, capture_output=True, text=True)
            seeded = json.loads(out.stdout.strip().splitlines()[-1])
            seed_s = time.perf_counter() - t0
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(args.web_workers), "--timeout", "120", "--log-level", "warning"],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "gunicorn.log").open("wb"),
                start_new_session=True,
            )
            try:
                _wait_for_port(port, timeout=30)
                ids = seeded["invoice_ids"]
                rng = random.Random(5)
                paths = [("inbox", "/"), ("inbox", "/?page=3"), ("exceptions", "/?state=exception")]
                paths += [("invoice", f"/invoices/{rng.choice(ids)}/") for _ in range(6)]
                result = drive(f"http://127.0.0.1:{port}", paths, requests_total=args.requests,
                               threads=args.threads, time_limit=args.time_limit)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
            return {"db": db, "seed_s": round(seed_s, 1), "queries": seeded["queries"], **result}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _nullctx(value):
    yield value


def _wait_for_port(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on {port} within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        sys.path.insert(0, str(REPO))
        print(json.dumps(seed(args.seed)))
        return
    results = [run_side(db, args) for db in args.db.split(",")]
    print(f"{args.invoices} invoices, {args.threads} client threads, gunicorn {args.web_workers} workers")
    header = f"{'db':<9}{'req':>6}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}  per page p50 ms / queries"
    print(header)
    for r in results:
        pages = ", ".join(f"{k} {v} / {r['queries'].get(k, '?')}q" for k, v in r["per_page_p50_ms"].items())
        print(f"{r['db']:<9}{r['requests']:>6}{r['req_per_s']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}  {pages}"
              + (f"  ERRORS {r['error_count']}: {r['errors']}" if r["error_count"] else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
