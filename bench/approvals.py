"""Benchmark: route 10,000 invoices against 200 approval rules.

Runs against a fresh SQLite database in a temporary folder (or DATABASE_URL if set), with
the product's settings (ORM broker: notifications are queued, not sent). Prints invoices
per second and queries per invoice for routing one by one (rules read per invoice) and for
the batch path (``invoices_route_batch``: rules, group members and delegations read once).

    .venv/bin/python bench/approvals.py [--invoices 10000] [--rules 200] [--sample 1000]
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


def setup_django(workdir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("AP_VAR_DIR", str(workdir))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("AP_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


CURRENCIES = ("EUR", "USD", "GBP", "CHF")
CATEGORIES = ("IT", "Facilities", "Marketing", "Logistics", "Legal", "")
COST_CENTRES = ("CC100", "CC200", "CC300", "CC400", "")


def build_world(*, n_rules: int, n_invoices: int, seed: int = 7) -> list[int]:
    """Users, groups, vendors, ``n_rules`` rules with 1–3 levels, and ``n_invoices`` invoices
    ready for routing. Returns the invoice ids."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from apinvoices.models import Channel, Document, Invoice, Vendor
    from approvals.models import ApprovalRule, ApprovalRuleStep, Delegation

    rng = random.Random(seed)
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"bench-approver-{i}", email=f"a{i}@example.test", first_name="A", last_name=str(i))
         for i in range(60)]
    )
    groups = []
    for g in range(8):
        group = Group.objects.create(name=f"Bench group {g}")
        group.user_set.add(*rng.sample(users, 4))
        groups.append(group)
    today = date.today()
    for user in rng.sample(users, 6):
        delegate = rng.choice([u for u in users if u.pk != user.pk])
        Delegation.objects.create(user=user, delegate=delegate, starts_on=today - timedelta(days=1),
                                  ends_on=today + timedelta(days=5))
    vendors = Vendor.objects.bulk_create(
        [Vendor(name=f"Bench vendor {i}", tax_id=f"BENCH{i:06d}", category=rng.choice(CATEGORIES),
                owner=rng.choice(users)) for i in range(300)]
    )

    rules, rule_steps = [], []
    for r in range(n_rules):
        currency = rng.choice(CURRENCIES)
        low = Decimal(rng.choice([0, 100, 500, 1000, 5000, 10000]))
        rule = ApprovalRule(
            name=f"Bench rule {r}", priority=r + 1, currency=currency,
            min_amount=low, max_amount=low + Decimal(rng.choice([500, 1000, 5000, 20000])),
            vendor=rng.choice(vendors) if rng.random() < 0.3 else None,
            vendor_category=rng.choice(CATEGORIES) if rng.random() < 0.3 else "",
            cost_centre=rng.choice(COST_CENTRES) if rng.random() < 0.3 else "",
            escalation_user=rng.choice(users),
        )
        rules.append(rule)
    ApprovalRule.objects.bulk_create(rules)
    for rule in rules:
        for level in range(1, rng.randint(1, 3) + 1):
            kind = rng.random()
            if kind < 0.6:
                rule_steps.append(ApprovalRuleStep(rule=rule, level=level, approver_user=rng.choice(users)))
            elif kind < 0.9:
                rule_steps.append(ApprovalRuleStep(rule=rule, level=level, approver_group=rng.choice(groups),
                                                   required_approvals=rng.randint(1, 2)))
            else:
                rule_steps.append(ApprovalRuleStep(rule=rule, level=level, vendor_owner=True))
    ApprovalRuleStep.objects.bulk_create(rule_steps)
    # The default rule (from the data migration) routes to the Approver group: give it members.
    Group.objects.get(name="Approver").user_set.add(*users[:3])

    documents, invoices = [], []
    for i in range(n_invoices):
        content = f"bench invoice {i}".encode()
        digest = hashlib.sha256(content).hexdigest()
        documents.append(Document(sha256=digest, file=f"originals/bench/{digest}", size=len(content),
                                  kind=Document.Kind.PDF, content_type="application/pdf", channel=Channel.DEMO))
    Document.objects.bulk_create(documents, batch_size=2000)
    for i, document in enumerate(documents):
        vendor = rng.choice(vendors)
        currency = rng.choice(CURRENCIES)
        total = Decimal(rng.randint(1000, 4_000_000)) / 100
        invoices.append(Invoice(
            document=document, vendor=vendor, vendor_name=vendor.name, invoice_number=f"B-{i:06d}",
            invoice_number_normalized=f"B{i}", issue_date=today, due_date=today + timedelta(days=30),
            currency=currency, total_amount=total, cost_centre=rng.choice(COST_CENTRES),
            state=Invoice.State.NEEDS_REVIEW,
        ))
    Invoice.objects.bulk_create(invoices, batch_size=2000)
    return [inv.pk for inv in invoices]


def measure(label: str, ids: list[int], route_chunk) -> tuple[float, float]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    queries = 0
    started = time.perf_counter()
    # CaptureQueriesContext keeps at most 9,000 queries: count per chunk of 200 invoices (a new
    # RoutingCache per chunk, as a task routing a page of invoices would build).
    chunk = 200
    for start in range(0, len(ids), chunk):
        reset_queries()  # the log is a bounded deque shared by successive contexts
        with CaptureQueriesContext(connection) as ctx:
            route_chunk(ids[start:start + chunk])
        queries += len(ctx.captured_queries)
    elapsed = time.perf_counter() - started
    rate, per_invoice = len(ids) / elapsed, queries / len(ids)
    print(f"{label:<34} {len(ids):>6} invoices  {elapsed:7.1f} s  {rate:7.1f} invoices/s  "
          f"{per_invoice:5.1f} queries/invoice")
    return rate, per_invoice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--sample", type=int, default=1_000, help="invoices routed one by one, for comparison")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ap-bench-approvals-") as tmp:
        setup_django(Path(tmp))
        from django.db import connection

        from apinvoices.models import Invoice
        from approvals.models import ApprovalStep
        from approvals.services.routing import invoice_route, invoices_route_batch

        t0 = time.perf_counter()
        ids = build_world(n_rules=args.rules, n_invoices=args.invoices + args.sample)
        print(f"setup: {args.rules} rules, {len(ids)} invoices in {time.perf_counter() - t0:.1f} s "
              f"({connection.vendor})")
        sample, main_ids = ids[: args.sample], ids[args.sample:]

        def one_by_one(chunk):
            for pk in chunk:
                invoice_route(invoice=Invoice(pk=pk), source="bench")

        def batched(chunk):
            invoices_route_batch(invoice_ids=chunk, source="bench")

        if sample:
            measure("one by one (rules per invoice)", sample, one_by_one)
        measure("batch (rules cached per chunk)", main_ids, batched)
        routed = Invoice.objects.filter(pk__in=ids, state=Invoice.State.AWAITING_APPROVAL).count()
        print(f"routed: {routed}/{len(ids)} invoices, {ApprovalStep.objects.count()} steps")


if __name__ == "__main__":
    main()
