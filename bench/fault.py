"""Fault benchmark: N invoices through the whole flow while the worker is SIGKILLed K times.

    .venv/bin/python bench/fault.py                       # 500 invoices, 10 kills
    .venv/bin/python bench/fault.py --invoices 40 --kills 3 --json out.json

Two runs over the same generated documents, each in a fresh folder with its own SQLite file
(WAL, as the settings make it) and its own real Tryton server on a free 127.0.0.1 port, configured
as the ERP backend:

1. **clean**: no faults; its time to finish is the baseline;
2. **fault**: a killer thread SIGKILLs the whole ``manage.py qcluster`` process group at K random
   moments (drawn uniformly over the clean run's duration) and restarts it after 0.2-2 s.

Each run: the documents are put in the drop folder before the worker starts; the worker's own
schedule scans it (ingest), extraction runs as django-q2 tasks (extract, validate, route), this
process plays the approver (``approval_step_decide`` as a user, as the approvals page does) and
the clerk (the review services: a misread IBAN is corrected to the vendor's verified one, an
invoice in needs-review without a blocking exception is sent to approval), and the worker
posts to Tryton through the outbox. A run ends when every document's invoice is posted, or at
``--timeout``.

Then it checks, on our database and on Tryton's (JSON-RPC): invoices lost (documents dropped vs
invoices posted; every one not posted is listed with its state and reason), ERP duplicates
(non-cancelled supplier invoices grouped by reference + party with more than one row), postings
left ``sending``, queue rows left in the broker, failed tasks. Lost and duplicates must be 0.

The document mix (``--mix``, default ``pdf:6,ubl:2,cii:1,facturx:1``): text-layer PDFs and
e-invoices, no scans, so extraction is quick and the figure is about recovery, not OCR. Text PDFs
have one line (one tax rate): when the layout reader finds no lines, the ERP payload falls back to
the rate implied by net and tax, which for a 19 % + 7 % invoice is no rate Tryton has. Vendors:
six EU vendors of the demo generator, in our vendor master with verified bank accounts and in
Tryton as parties with their VAT identifier (``Vendor.erp_id`` set).

Recovery after a kill is bounded by the queue's ``retry`` (the ORM broker hands a task that was
never acknowledged out again after that many seconds) and the ERP send lease. The defaults (720 s,
600 s) would make one run take tens of minutes; the benchmark sets ``AP_Q_TIMEOUT=60``,
``AP_Q_RETRY=90``, ``AP_ERP_SEND_LEASE_SECONDS=90`` (``--retry`` to change), which suits text
documents; the figures in bench/README.md say which values were used.
"""

from __future__ import annotations

import argparse
import io
import logging
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Demo generator vendors used (indices into DEMO_VENDORS): EU, EUR, with VAT IDs and IBANs.
VENDOR_INDICES = (0, 1, 4, 7, 10, 12)
DEFAULT_MIX = "pdf:6,ubl:2,cii:1,facturx:1"
SCHEDULED = ("poll_mailbox_task", "scan_dropfolder_task", "retry_due_postings")
APPROVER = "bench-approver"
CLERK = "bench-clerk"


# --- documents (parent process) ---------------------------------------------------------------


def parse_mix(text: str) -> list[tuple[str, int]]:
    mix = []
    for part in text.split(","):
        kind, _, weight = part.partition(":")
        mix.append((kind.strip(), int(weight or 1)))
    return mix


def generate_documents(folder: Path, *, count: int, mix: list[tuple[str, int]], seed: int) -> dict:
    """Render ``count`` distinct invoices into ``folder``; returns the kind counts.

    Invoice numbers carry the document index, so no two documents are the same invoice (the
    duplicate check must not stop any of them) and every Tryton reference is unique.
    """
    from dataclasses import replace

    from apinvoices.demo.corpus import render_document
    from apinvoices.demo.specs import DEMO_VENDORS, random_spec

    folder.mkdir(parents=True, exist_ok=True)
    vendors = [DEMO_VENDORS[i] for i in VENDOR_INDICES]
    kinds = [kind for kind, weight in mix for _ in range(weight)]
    today = date.today()
    window = (today - timedelta(days=60), today - timedelta(days=1))
    counts: Counter = Counter()
    for i in range(count):
        rng = random.Random(f"{seed}:{i}")
        kind = kinds[i % len(kinds)]
        spec = random_spec(rng, vendor=vendors[i % len(vendors)], date_range=window,
                           einvoice=kind in ("ubl", "cii", "facturx"), traps=False,
                           document_type="invoice",
                           line_count=1 if kind == "pdf" else rng.randint(1, 3))
        # No PO number: the PO match would (rightly) stop an invoice whose order we never created.
        spec = replace(spec, number=f"FB-{seed}-{i:05d}", po_number="")
        rendered = render_document(spec, kind, rng)
        (folder / f"inv-{i:05d}-{kind}.{rendered.extension}").write_bytes(rendered.content)
        counts[kind] += 1
    return dict(counts)


# --- one run (child process: its own Django, database and Tryton) ------------------------------


def _setup_world(tryton) -> dict:
    """Users, the approval rule, vendors in both masters. Runs in the child after django.setup()."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from apinvoices.demo.specs import DEMO_VENDORS, REDUCED_RATE, STANDARD_RATE, VENDOR_PROFILES
    from apinvoices.models import Vendor, VendorBankAccount
    from apinvoices.roles import Role
    from approvals.models import ApprovalRule, ApprovalRuleStep
    from erp_integration.backends.jsonrpc import TrytonClient

    User = get_user_model()
    approver = User.objects.create_user(APPROVER, email="approver@example.test", first_name="Bench",
                                        last_name="Approver")
    approver.groups.add(Group.objects.get(name=Role.APPROVER.value))
    clerk = User.objects.create_user(CLERK, email="clerk@example.test", first_name="Bench", last_name="Clerk")
    clerk.groups.add(Group.objects.get(name=Role.CLERK.value))
    admin = User.objects.create_user("bench-admin", email="admin@example.test")
    admin.groups.add(Group.objects.get(name=Role.ADMIN.value))
    rule = ApprovalRule.objects.create(name="Bench: everything to the bench approver", priority=1)
    ApprovalRuleStep.objects.create(rule=rule, level=1, approver_user=approver)

    client = TrytonClient(url=tryton.url, database=tryton.database, user=tryton.user, password=tryton.password)
    client.context = {"company": tryton.company_id}
    # The template has 19 % and 7 % only; the other vendors' countries charge other rates.
    countries = {DEMO_VENDORS[i].country for i in VENDOR_INDICES}
    rates = {STANDARD_RATE[c] for c in countries} | {REDUCED_RATE[c] for c in countries if c in REDUCED_RATE}
    for rate in sorted(rates - {Decimal("19"), Decimal("7")}) + [Decimal("0")]:
        client.create("account.tax", [{
            "name": f"Input VAT {rate} %", "description": f"Input VAT {rate} %", "type": "percentage",
            "rate": rate / 100, "company": tryton.company_id,
            "invoice_account": tryton.ids.tax_account, "credit_note_account": tryton.ids.tax_account,
        }])
    for index in VENDOR_INDICES:
        party = DEMO_VENDORS[index]
        party_id, = client.create("party.party", [{
            "name": party.name, "addresses": [("create", [{}])],
            "identifiers": [("create", [{"type": "eu_vat", "code": party.vat_id}])],
        }])
        vendor = Vendor.objects.create(
            name=party.name, tax_id=party.vat_id, country=party.country,
            default_currency=VENDOR_PROFILES[party.name].currency, email=party.email,
            erp_id=str(party_id),
        )
        VendorBankAccount.objects.create(
            vendor=vendor, iban=party.iban, bic=party.bic, holder_name=party.name,
            currency=VENDOR_PROFILES[party.name].currency, source="bench onboarding",
            entered_by=admin, status=VendorBankAccount.Status.VERIFIED, verified_by=clerk,
            verified_at=_now(),
            verification_method="bench",
        )
    return {"approver": approver, "clerk": clerk}


def _now():
    from django.utils import timezone

    return timezone.now()


class Worker:
    """``manage.py qcluster`` in its own process group; SIGKILL takes the whole group."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"], cwd=REPO, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.starts += 1

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        # The cluster's children die with the group; nothing is left to reap but our child.

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
        else:
            try:  # stragglers of the group (workers the sentinel did not reap)
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _state_counts() -> dict[str, int]:
    from django.db.models import Count

    from apinvoices.models import Invoice

    return dict(Invoice.objects.values_list("state").annotate(n=Count("id")))


def _drive(*, users: dict, log) -> tuple[int, int]:
    """One pass of the humans: approve every pending step of the bench approver; correct a
    misread IBAN; send needs-review invoices without blocking exceptions to approval.
    Returns (approved, submitted)."""
    from apinvoices.exceptions import ApplicationError
    from apinvoices.models import Invoice, InvoiceException, VendorBankAccount
    from apinvoices.services.review import invoice_send_to_approval, invoice_update_field
    from approvals.models import ApprovalStep
    from approvals.services.decisions import Decision, approval_step_decide

    approved = submitted = 0
    steps = list(ApprovalStep.objects.filter(state=ApprovalStep.State.PENDING, approver=users["approver"])
                 .select_related("invoice").order_by("pk")[:200])
    for step in steps:
        try:
            approval_step_decide(step=step, actor=users["approver"], decision=Decision.APPROVE,
                                 comment="bench")
            approved += 1
        except ApplicationError as err:
            log(f"approve step {step.pk}: {err}")
    # A misread IBAN (fails its checksum): the clerk compares with the original and types the
    # vendor's verified IBAN, as on the review page. Other blocking exceptions stay (and count).
    misread = (InvoiceException.objects.filter(status="open", severity="blocking", kind="invalid_id",
                                               invoice__state=Invoice.State.EXCEPTION)
               .select_related("invoice"))
    for exception in misread:
        invoice = exception.invoice
        account = VendorBankAccount.objects.filter(
            vendor_id=invoice.vendor_id, status=VendorBankAccount.Status.VERIFIED).first()
        if account is None or invoice.vendor_iban == account.iban:
            continue
        try:
            invoice_update_field(invoice=invoice, name="vendor_iban", value=account.iban,
                                 actor=users["clerk"])
            log(f"clerk corrected the IBAN of invoice {invoice.pk}")
        except ApplicationError as err:
            log(f"correct invoice {invoice.pk}: {err}")
    blocking = InvoiceException.objects.filter(status="open", severity="blocking").values("invoice_id")
    for invoice in Invoice.objects.filter(state=Invoice.State.NEEDS_REVIEW).exclude(pk__in=blocking)[:100]:
        try:
            invoice_send_to_approval(invoice=invoice, actor=users["clerk"])
            submitted += 1
        except ApplicationError as err:
            log(f"submit invoice {invoice.pk}: {err}")
    return approved, submitted


def _verify(*, expected: int, drop: Path, tryton) -> dict:
    from django.db.models import Count
    from django_q.models import OrmQ, Task

    from apinvoices.models import Document, Extraction, Invoice, InvoiceException
    from erp_integration.backends.jsonrpc import TrytonClient
    from erp_integration.models import ErpPosting

    posted = Invoice.objects.filter(state=Invoice.State.POSTED).count()
    not_posted = [
        {"invoice": inv.pk, "file": inv.document.original_filename, "state": inv.state,
         "reason": inv.state_reason[:160],
         "exceptions": list(InvoiceException.objects.filter(invoice=inv, status="open")
                            .values_list("kind", flat=True)),
         "postings": list(ErpPosting.objects.filter(invoice=inv).values_list("state", "last_error_code"))}
        for inv in Invoice.objects.exclude(state=Invoice.State.POSTED).select_related("document").order_by("pk")
    ]
    left_in_folder = sorted(
        p.name for p in drop.iterdir() if p.is_file() and not p.name.startswith(".")
    )
    client = TrytonClient(url=tryton.url, database=tryton.database, user=tryton.user, password=tryton.password)
    client.context = {"company": tryton.company_id}
    rows = client.search_read("account.invoice", [("type", "=", "in"), ("state", "!=", "cancelled")],
                              ["reference", "party", "state"])
    groups = Counter((row["reference"], row["party"]) for row in rows)
    duplicates = {f"{ref} / party {party}": n for (ref, party), n in groups.items() if n > 1}
    erp_states = Counter(row["state"] for row in rows)
    return {
        "documents": Document.objects.count(),
        "invoices": Invoice.objects.count(),
        "posted": posted,
        "lost": expected - posted,
        "not_posted": not_posted[:50],
        "left_in_drop_folder": left_in_folder[:50],
        "erp_invoices": len(rows),
        "erp_states": dict(erp_states),
        "erp_duplicates": sum(n - 1 for n in duplicates.values()),
        "erp_duplicate_groups": duplicates,
        "postings_by_state": dict(ErpPosting.objects.values_list("state").annotate(n=Count("id"))),
        "postings_sending": ErpPosting.objects.filter(state=ErpPosting.State.SENDING).count(),
        "posting_attempts_max": max(ErpPosting.objects.values_list("attempts", flat=True), default=0),
        # Scheduled polls queued at the moment the worker stopped are normal; a flow task
        # (extract, send) still in the broker after everything is posted is not.
        "queue_rows_left": sum(1 for row in OrmQ.objects.all() if not str(row.func()).endswith(SCHEDULED)),
        "failed_tasks": list(Task.objects.filter(success=False).values_list("name", "result")[:20]),
        "failed_task_count": Task.objects.filter(success=False).count(),
        "extractions": Extraction.objects.count(),
        "stuck_states": {k: v for k, v in _state_counts().items() if k != Invoice.State.POSTED},
    }


def run_child(args) -> int:
    from tests.servers.tryton import TrytonServer, ensure_template

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup
        raise SystemExit(f"signal {signum}")  # so the finally below stops Tryton and the worker

    signal.signal(signal.SIGTERM, terminate)

    workdir = Path(tempfile.mkdtemp(prefix=f"ap-fault-{args.mode}-"))
    drop = workdir / "drop"
    drop.mkdir()
    log_lines: list[str] = []

    def log(msg: str) -> None:
        line = f"[{args.mode} {time.monotonic() - t0:7.1f}s] {msg}"
        log_lines.append(line)
        if args.verbose:
            sys.stderr.write(line + "\n")

    t0 = time.monotonic()
    server = TrytonServer(ensure_template())
    tryton = server.start()
    workers: list[Worker] = []
    try:
        return _run_child(args, workdir=workdir, drop=drop, server=server, tryton=tryton,
                          workers=workers, log=log, log_lines=log_lines)
    finally:
        for worker in workers:
            worker.stop()
        server.stop()


def _run_child(args, *, workdir, drop, server, tryton, workers, log, log_lines) -> int:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "AP_VAR_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "AP_LOG_LEVEL": "INFO",
        "DJANGO_DEBUG": "0",
        "AP_ERP_BACKEND": "tryton",
        "TRYTON_URL": tryton.url, "TRYTON_DATABASE": tryton.database,
        "TRYTON_USER": tryton.user, "TRYTON_PASSWORD": tryton.password,
        "AP_DROP_FOLDER": str(drop),
        # Two sightings of the same size/mtime are still needed; no extra wait on top.
        "AP_DROP_FOLDER_STABLE_SECONDS": "0",
        "AP_POLL_MINUTES": "1",
        "AP_Q_WORKERS": str(args.workers),
        "AP_Q_TIMEOUT": str(args.task_timeout),
        "AP_Q_RETRY": str(args.retry),
        "AP_ERP_SEND_LEASE_SECONDS": str(args.lease),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    os.environ.update(env)
    from bench.approvals import setup_django

    setup_django(workdir)
    logging.getLogger("django-q").setLevel(logging.WARNING)  # the driver's own enqueue lines
    log("database migrated, tryton up")
    from django.core.management import call_command
    from django_q.models import Schedule

    users = _setup_world(tryton)
    call_command("setup_schedules", verbosity=0, stdout=io.StringIO())
    # Start the scan now instead of a minute after start-up (the same for both runs).
    Schedule.objects.update(next_run=_now())
    files = sorted(Path(args.docs).iterdir())
    if args.ingest == "folder":
        for path in files:
            shutil.copyfile(path, drop / path.name)
        log(f"{len(files)} documents in the drop folder")
    else:
        # Ingested by this process before the worker starts: only extraction onwards is under
        # fault (the miniature test uses this to skip the drop folder's one-minute schedule).
        from apinvoices.ingestion.service import Accepted, document_ingest
        from apinvoices.models import Channel

        for path in files:
            with open(path, "rb") as fh:
                result = document_ingest(data=fh, filename=path.name, channel=Channel.UPLOAD)
            if not isinstance(result, Accepted):
                raise RuntimeError(f"{path.name}: {result}")
        log(f"{len(files)} documents ingested through the service")
    expected = len(files)

    worker = Worker(env, workdir / "qcluster.log")
    workers.append(worker)
    kills: list[dict] = []
    stop = threading.Event()
    started = time.monotonic()
    worker.start()
    lock = threading.Lock()

    def killer() -> None:
        rng = random.Random(args.seed)
        span = max(args.kill_span, 10.0)
        moments = sorted(rng.uniform(3.0, span) for _ in range(args.kills))
        for moment in moments:
            if stop.wait(max(0.0, started + moment - time.monotonic())):
                return
            with lock:
                worker.kill()
                counts = _state_counts_safe()
                kills.append({"at": round(time.monotonic() - started, 1), "states": counts})
                log(f"SIGKILL #{len(kills)} at {kills[-1]['at']} s; states {counts}")
                time.sleep(rng.uniform(0.2, 2.0))
                worker.start()

    def _state_counts_safe() -> dict:
        try:
            return _state_counts()
        except Exception as err:  # the database is locked by nobody after a kill; report anyway
            return {"error": str(err)}

    thread = None
    if args.kills:
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()

    from django.db import close_old_connections

    from apinvoices.models import Invoice

    approved = submitted = 0
    finished = None
    deadline = started + args.timeout
    last_report = 0.0
    while time.monotonic() < deadline:
        a, s = _drive(users=users, log=log)
        approved += a
        submitted += s
        posted = Invoice.objects.filter(state=Invoice.State.POSTED).count()
        if posted >= expected:
            finished = time.monotonic() - started
            break
        if time.monotonic() - last_report > 15:
            log(f"states {_state_counts()}")
            last_report = time.monotonic()
        if worker.proc.poll() is not None and (thread is None or not thread.is_alive()):
            with lock:
                if worker.proc.poll() is not None:
                    log(f"qcluster exited by itself ({worker.proc.returncode}); restarting")
                    worker.start()
        close_old_connections()
        time.sleep(0.5)
    stop.set()
    if thread is not None:
        thread.join(timeout=5)
    with lock:
        worker.stop()
    log(f"finished in {finished} s" if finished else "timed out")
    report = _verify(expected=expected, drop=drop, tryton=tryton)
    usage_self = resource.getrusage(resource.RUSAGE_SELF)
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "mode": args.mode,
        "documents_dropped": expected,
        "seconds": round(finished, 1) if finished else None,
        "timed_out": finished is None,
        "kills": kills,
        "worker_starts": worker.starts,
        "approved_by_driver": approved,
        "submitted_by_clerk": submitted,
        "cpu_seconds_driver": round(usage_self.ru_utime + usage_self.ru_stime, 1),
        "cpu_seconds_children": round(usage_children.ru_utime + usage_children.ru_stime, 1),
        "loadavg_end": os.getloadavg(),
        "workdir": str(workdir),
        **report,
        "log": log_lines[-200:],
    }
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


# --- parent -----------------------------------------------------------------------------------


def _child(mode: str, *, args, docs: Path, out: Path, kills: int, kill_span: float) -> dict:
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--_child", mode, "--_docs", str(docs),
        "--_out", str(out), "--kills", str(kills), "--_kill-span", str(kill_span),
        "--workers", str(args.workers), "--retry", str(args.retry), "--lease", str(args.lease),
        "--task-timeout", str(args.task_timeout), "--timeout", str(args.timeout),
        "--seed", str(args.seed), "--ingest", args.ingest,
    ]
    if args.verbose:
        cmd.append("--verbose")
    if args.keep:
        cmd.append("--keep")
    load_before = os.getloadavg()
    proc = subprocess.Popen(cmd, cwd=REPO)
    try:
        if proc.wait():
            raise RuntimeError(f"the {mode} run failed ({proc.returncode})")
    finally:
        if proc.poll() is None:  # we were interrupted: let the child stop Tryton and the worker
            proc.terminate()
            proc.wait(timeout=120)
    result = json.loads(out.read_text())
    result["loadavg_start"] = load_before
    return result


def run(*, invoices: int, kills: int, args) -> dict:
    """Both runs; returns {"clean": ..., "fault": ..., "ratio": ..., "mix": ...}."""
    from tests.servers.tryton import ensure_template

    ensure_template()
    root = Path(tempfile.mkdtemp(prefix="ap-fault-bench-"))
    try:
        docs = root / "docs"
        t0 = time.monotonic()
        mix = generate_documents(docs, count=invoices, mix=parse_mix(args.mix), seed=args.seed)
        generated = time.monotonic() - t0
        clean = _child("clean", args=args, docs=docs, out=root / "clean.json", kills=0, kill_span=0)
        span = (clean["seconds"] or args.timeout) * 0.9
        fault = _child("fault", args=args, docs=docs, out=root / "fault.json", kills=kills, kill_span=span)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ratio = (fault["seconds"] / clean["seconds"]) if fault["seconds"] and clean["seconds"] else None
    return {"clean": clean, "fault": fault, "ratio": ratio, "mix": mix, "generate_seconds": generated}


def print_table(result: dict) -> None:
    clean, fault = result["clean"], result["fault"]
    rows = [
        ("documents dropped", "documents_dropped"),
        ("invoices posted", "posted"),
        ("invoices lost (must be 0)", "lost"),
        ("ERP invoices (non-cancelled)", "erp_invoices"),
        ("ERP duplicates (must be 0)", "erp_duplicates"),
        ("postings left sending", "postings_sending"),
        ("queue rows left in broker", "queue_rows_left"),
        ("failed tasks", "failed_task_count"),
        ("extractions run", "extractions"),
        ("max posting attempts", "posting_attempts_max"),
        ("worker (re)starts", "worker_starts"),
        ("invoices sent on by clerk", "submitted_by_clerk"),
        ("time to finish, s", "seconds"),
        ("CPU s (driver)", "cpu_seconds_driver"),
        ("CPU s (worker + Tryton)", "cpu_seconds_children"),
    ]
    print(f"mix: {result['mix']}  (generated in {result['generate_seconds']:.1f} s)")
    print(f"{'':32} {'clean':>10} {'fault':>10}")
    for label, key in rows:
        print(f"{label:32} {str(clean.get(key)):>10} {str(fault.get(key)):>10}")
    print(f"{'SIGKILLs':32} {0:>10} {len(fault['kills']):>10}")
    ratio = result["ratio"]
    print(f"time fault / clean: {ratio:.2f}" if ratio else "time fault / clean: n/a (a run timed out)")
    la = ", ".join(f"{x:.2f}" for x in clean["loadavg_start"])
    print(f"load average before the clean run: {la}; after the fault run: "
          + ", ".join(f"{x:.2f}" for x in fault["loadavg_end"]))
    print("kills at (s): " + ", ".join(str(k["at"]) for k in fault["kills"]))
    for mode in ("clean", "fault"):
        for row in result[mode]["not_posted"]:
            print(f"NOT POSTED ({mode}): {row}")
        if result[mode]["erp_duplicate_groups"]:
            print(f"ERP DUPLICATES ({mode}): {result[mode]['erp_duplicate_groups']}")
        if result[mode]["failed_tasks"]:
            print(f"failed tasks ({mode}): {result[mode]['failed_tasks'][:5]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mix", default=DEFAULT_MIX, help=f"kind:weight,... (default {DEFAULT_MIX})")
    parser.add_argument("--retry", type=int, default=90, help="django-q2 retry seconds (AP_Q_RETRY)")
    parser.add_argument("--task-timeout", type=int, default=60, help="django-q2 timeout (AP_Q_TIMEOUT)")
    parser.add_argument("--lease", type=int, default=90, help="ERP send lease seconds")
    parser.add_argument("--timeout", type=float, default=3600, help="give up a run after this many s")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--ingest", choices=("folder", "service"), default="folder",
                        help="drop folder scanned by the worker (default) or the service, up front")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders (paths in --json)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--_child", dest="mode", help=argparse.SUPPRESS)
    parser.add_argument("--_docs", dest="docs", help=argparse.SUPPRESS)
    parser.add_argument("--_out", dest="out", help=argparse.SUPPRESS)
    parser.add_argument("--_kill-span", dest="kill_span", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mode:
        return run_child(args)

    def terminate(signum, frame):
        raise SystemExit(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    result = run(invoices=args.invoices, kills=args.kills, args=args)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    ok = all(result[m]["lost"] == 0 and result[m]["erp_duplicates"] == 0 for m in ("clean", "fault"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
