"""Benchmark: run every validation check over N invoices against 500 vendors' history.

Fresh SQLite database in a temporary folder (or DATABASE_URL if set). For each history size
(default 1,000 and 10,000 past invoices spread over 500 vendors, each with a verified bank
account), creates ``--invoices`` new invoices and runs ``invoice_run_checks`` on each. Prints
invoices per second and queries per invoice; queries per invoice must not grow with history
(the duplicate and amount-pattern checks must use indexed lookups and aggregates, not scans).

    .venv/bin/python bench/checks.py [--invoices 10000] [--history 1000,10000] [--vendors 500]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.approvals import setup_django  # noqa: E402

_doc_counter = 0


def _documents(n: int, tag: str):
    from apinvoices.models import Channel, Document

    global _doc_counter
    docs = []
    for _ in range(n):
        _doc_counter += 1
        digest = hashlib.sha256(f"{tag}-{_doc_counter}".encode()).hexdigest()
        docs.append(Document(sha256=digest, file=f"originals/{digest[:2]}/{digest[2:4]}/{digest}", size=1,
                             kind=Document.Kind.PDF, content_type="application/pdf", channel=Channel.CLI))
    return Document.objects.bulk_create(docs, batch_size=2000)


def _invoice(rng: random.Random, document, vendor, *, state: str, number: str, day: date):
    from apinvoices.models import Invoice
    from apinvoices.services.invoices import normalize_invoice_number

    net = Decimal(rng.randint(5_000, 500_000)) / 100
    tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
    return Invoice(
        document=document, vendor=vendor, vendor_name=vendor.name, state=state,
        invoice_number=number, invoice_number_normalized=normalize_invoice_number(number),
        issue_date=day, due_date=day + timedelta(days=30), currency="EUR",
        net_amount=net, tax_amount=tax, total_amount=net + tax,
        vendor_iban=f"DE89370400440532{vendor.pk % 1_000_000:06d}",
    )


def build_vendors(n: int) -> list:
    from apinvoices.models import Vendor, VendorBankAccount
    from django.contrib.auth import get_user_model

    verifier = get_user_model().objects.create(username="bench-verifier")
    vendors = Vendor.objects.bulk_create([Vendor(name=f"Bench Vendor {i} GmbH", country="DE") for i in range(n)])
    VendorBankAccount.objects.bulk_create([
        VendorBankAccount(vendor=v, iban=f"DE89370400440532{v.pk % 1_000_000:06d}", status="verified",
                          verified_by=verifier, verification_method="bench")
        for v in vendors
    ])
    return vendors


def add_history(rng: random.Random, vendors: list, n: int) -> None:
    from apinvoices.models import Invoice

    today = date.today()
    docs = _documents(n, "history")
    Invoice.objects.bulk_create([
        _invoice(rng, doc, vendors[i % len(vendors)], state=Invoice.State.PAID, number=f"H-{doc.pk:07d}",
                 day=today - timedelta(days=rng.randint(20, 700)))
        for i, doc in enumerate(docs)
    ], batch_size=2000)


def run(rng: random.Random, vendors: list, n: int, history: int, *, top_queries: int = 0) -> dict:
    from django.db import connection

    from apinvoices.checks import invoice_run_checks
    from apinvoices.models import Invoice

    today = date.today()
    docs = _documents(n, f"new-{history}")
    invoices = Invoice.objects.bulk_create([
        _invoice(rng, doc, vendors[i % len(vendors)], state=Invoice.State.NEEDS_REVIEW,
                 number=f"N{history}-{doc.pk:07d}", day=today - timedelta(days=rng.randint(1, 10)))
        for i, doc in enumerate(docs)
    ], batch_size=2000)
    queries = 0
    by_shape: dict[str, list] = {}

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        if not top_queries:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = by_shape.setdefault(sql, [0, 0.0])
            shape[0] += 1
            shape[1] += time.perf_counter() - started

    started, cpu0 = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        for invoice in invoices:
            invoice_run_checks(invoice=invoice, source="bench")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    for sql, (calls, seconds) in sorted(by_shape.items(), key=lambda kv: -kv[1][1])[:top_queries]:
        text = " ".join(sql.split())
        head, where, tail = text.partition(" WHERE ")
        print(f"  {seconds * 1000 / n:6.2f} ms/invoice in {calls:>6} calls: {head[:60]} ...{where}{tail[:220]}")
    # SQLite runs inside this process, so its CPU time is the whole cost of a check run; on a
    # shared machine it is the figure that holds (wall time includes waiting for a core).
    return {"history": history, "invoices": n, "seconds": elapsed, "per_s": n / elapsed, "cpu_s": cpu,
            "per_cpu_s": n / cpu, "cpu_ms_per_invoice": cpu * 1000 / n, "queries_per_invoice": queries / n,
            "loadavg": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--history", default="1000,10000", help="comma-separated history sizes, ascending")
    parser.add_argument("--vendors", type=int, default=500)
    parser.add_argument("--top-queries", type=int, default=0, help="print the N query shapes that took longest")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.history.split(","))
    with tempfile.TemporaryDirectory(prefix="ap-bench-checks-") as tmp:
        setup_django(Path(tmp))
        rng = random.Random(11)
        vendors = build_vendors(args.vendors)
        have = 0
        results = []
        for size in sizes:
            add_history(rng, vendors, size - have)
            have = size
            results.append(run(rng, vendors, args.invoices, size, top_queries=args.top_queries))
            # The checked invoices become history too; keep the figure honest by counting them.
            r = results[-1]
            print(f"history {size:>6} (+{r['invoices'] * (len(results) - 1)} checked earlier): "
                  f"{r['invoices']} invoices in {r['seconds']:.1f} s = {r['per_s']:.0f} invoices/s wall; "
                  f"CPU {r['cpu_s']:.1f} s = {r['cpu_ms_per_invoice']:.1f} ms/invoice = "
                  f"{r['per_cpu_s']:.0f} invoices per CPU-second; {r['queries_per_invoice']:.1f} queries/invoice; "
                  f"load average {r['loadavg']:.1f}", flush=True)
        first, last = results[0]["queries_per_invoice"], results[-1]["queries_per_invoice"]
        verdict = "does not grow" if last <= first + 0.5 else "GREW"
        cpu_first, cpu_last = results[0]["cpu_ms_per_invoice"], results[-1]["cpu_ms_per_invoice"]
        print(f"CPU per invoice: {cpu_first:.1f} ms at {sizes[0]} history -> {cpu_last:.1f} ms at {sizes[-1]}")
        print(f"queries per invoice {verdict}: {first:.1f} at {sizes[0]} history -> {last:.1f} at {sizes[-1]}")


if __name__ == "__main__":
    main()
