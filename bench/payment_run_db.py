"""Time a payment run through the database: propose, approve, export, camt.054 import.

    .venv/bin/python bench/payment_run_db.py [--invoices 2000]

Builds a fresh SQLite database in a temporary folder (migrations included, not timed), fills it
with N posted EUR invoices of N/10 vendors with verified accounts (one in ten on "2/10 net 30"),
then times each service call of ``erp_integration.services.payments`` and the query count of
the proposal. Complements bench/payment_run.py, which times only the file builders.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-payrun-"))
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
                      AP_VAR_DIR=str(folder))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    @contextlib.contextmanager
    def count_queries(conn):
        """Every statement run inside, counted (CaptureQueriesContext keeps only the last 9000)."""
        seen: list[str] = []

        def count(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with conn.execute_wrapper(count):
            yield seen
    from django.utils import timezone

    settings.MEDIA_ROOT = folder / "media"
    call_command("migrate", verbosity=0)
    from apinvoices.models import Invoice, VendorBankAccount
    from apinvoices.tests.factories import InvoiceFactory, UserFactory, VendorBankAccountFactory, VendorFactory
    from erp_integration.services import payments as svc
    from erp_integration.tests.test_payment_runs import camt054

    clerk, second, verifier = (UserFactory(username=n) for n in ("clerk", "clerk2", "verifier"))
    today = timezone.localdate()
    vendors = []
    for i in range(max(args.invoices // 10, 1)):
        vendor = VendorFactory()
        VendorBankAccountFactory(vendor=vendor, iban="DE89370400440532013000", status=VendorBankAccount.Status.VERIFIED,
                                 verified_by=verifier, verified_at=timezone.now())
        vendors.append(vendor)
    for i in range(args.invoices):
        InvoiceFactory(state=Invoice.State.POSTED, vendor=vendors[i % len(vendors)], vendor_iban="DE89370400440532013000",
                       total_amount=Decimal("100.00") + i % 97, due_date=today + timedelta(days=i % 5),
                       issue_date=today - timedelta(days=5), payment_terms="2/10 net 30" if i % 10 == 0 else "")

    timings: dict[str, tuple[float, float, int]] = {}  # name: (wall s, CPU s, queries)
    start, cpu = time.perf_counter(), time.process_time()
    with count_queries(connection) as queries:
        run = svc.payment_run_propose(actor=clerk, name="bench", currency="EUR", due_until=today + timedelta(days=7),
                                      execution_date=today, debtor_account="DE02120300000000202051",
                                      file_format="pain.001.001.09").run
    timings["propose"] = (time.perf_counter() - start, time.process_time() - cpu, len(queries))
    start, cpu = time.perf_counter(), time.process_time()
    with count_queries(connection) as queries:
        run = svc.payment_run_approve(run=run, actor=second)
        run = svc.payment_run_export(run=run, actor=second)
    timings["approve+export"] = (time.perf_counter() - start, time.process_time() - cpu, len(queries))
    e2e = list(run.payments.values_list("end_to_end_id", "amount"))
    data = camt054(booked=[(e, str(a)) for e, a in e2e])
    start, cpu = time.perf_counter(), time.process_time()
    with count_queries(connection) as queries:
        result = svc.camt054_import(data=data, actor=clerk)
    timings["camt054 import"] = (time.perf_counter() - start, time.process_time() - cpu, len(queries))
    n = max(len(e2e), 1)
    print(f"invoices={args.invoices} payments={len(e2e)} paid={result.paid} "
          f"load average {os.getloadavg()[0]:.1f} (2 cores)")
    for name, (seconds, cpu_seconds, count) in timings.items():
        print(f"{name:>16}: {seconds:7.2f} s wall ({seconds / n * 1000:6.2f} ms/payment), "
              f"{cpu_seconds:7.2f} s CPU ({cpu_seconds / n * 1000:6.2f} ms/payment), "
              f"{count} queries ({count / n:.1f}/payment)")


if __name__ == "__main__":
    main()
