"""Seeding for ``bench/load.py``: N invoices with the history the clerk's pages read.

Runs inside a Django process configured from the environment. Rows are built in chunks and
written with ``bulk_create`` (no per-row signals, so no auditlog entries: the pages under test do
not read them). Per invoice: a Document, an Extraction with its ExtractedFields, timeline events
(received, extracted, state changes, approval and posting where the state implies them),
exceptions (open ones for invoices in ``exception``, resolved ones on a share of the others),
approval steps for invoices that went to approval, and an ERP posting for posted/paid ones.

The mix of states is skewed the way a live system is: most invoices are closed (paid), a few
thousand are clerk work. Timestamps spread over the last ``DAYS`` days, newest invoice first.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from decimal import Decimal

DAYS = 730
CHUNK = 5000
N_VENDORS = 500
N_APPROVERS = 12
FIELD_NAMES = ("vendor_name", "vendor_iban", "invoice_number", "issue_date", "due_date", "currency",
               "net_amount", "tax_amount", "total_amount")


def fast_insert(model, rows: list[dict], *, batch: int = 2000) -> None:
    """INSERT ``rows`` (attname -> value; unset fields take their default) with executemany.

    What ``bulk_create`` does without building model instances: for the two biggest tables
    (fields and events, ~15 rows per invoice) instance construction is most of the seeding time.
    Values go through each field's ``get_db_prep_save``, so dates, decimals and JSON are stored
    exactly as the ORM would store them.
    """
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields if f.has_default() or f.null}
    plain = (str, int, type(None))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"
    params = []
    for row in rows:
        values = []
        for f in fields:
            value = row[f.attname] if f.attname in row else defaults.get(f.attname, "")
            if not (type(value) in plain and f.get_internal_type() != "JSONField"):
                value = f.get_db_prep_save(value, connection)
            values.append(value)
        params.append(values)
    with connection.cursor() as cursor:
        for start in range(0, len(params), batch):
            cursor.executemany(sql, params[start:start + batch])


def state_weights():
    from apinvoices.models import Invoice

    S = Invoice.State
    # Per 1000 invoices: the tail of work at the top, the long paid history below.
    return [(S.NEEDS_REVIEW, 30), (S.EXCEPTION, 25), (S.EXTRACTION_FAILED, 3), (S.PASSWORD_NEEDED, 1),
            (S.REJECTED, 4), (S.AWAITING_APPROVAL, 20), (S.APPROVED, 7), (S.POSTED, 40), (S.SCHEDULED, 10),
            (S.PAID, 840), (S.DUPLICATE, 12), (S.VOID, 8)]


def seed_world(n_invoices: int, *, password: str, rng_seed: int = 11) -> dict:
    """Create users, vendors and ``n_invoices`` invoices with history. Returns ids to drive the
    load with and the row counts written."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from apinvoices.models import (
        Channel, Document, ExtractedField, Extraction, FieldSource, Invoice, InvoiceEvent, InvoiceException,
        Vendor,
    )
    from apinvoices.roles import Role
    from approvals.models import ApprovalStep
    from erp_integration.models import ErpPosting

    User = get_user_model()
    rng = random.Random(rng_seed)
    clerk = User.objects.create_user("bench-clerk", password=password)
    clerk.groups.add(Group.objects.get(name=Role.CLERK))
    approver_pw = make_password(password)
    approvers = User.objects.bulk_create(
        [User(username=f"bench-approver-{i}", password=approver_pw) for i in range(N_APPROVERS)]
    )
    vendors = Vendor.objects.bulk_create(
        [Vendor(name=f"Bench Vendor {i:03d} {rng.choice(['GmbH', 'AG', 'Ltd', 'SARL', 'BV'])}", country="DE",
                default_currency="EUR") for i in range(N_VENDORS)]
    )
    states, weights = zip(*state_weights())
    S = Invoice.State
    approval_states = {S.AWAITING_APPROVAL, S.APPROVED, S.POSTED, S.SCHEDULED, S.PAID, S.REJECTED}
    posted_states = {S.POSTED, S.SCHEDULED, S.PAID}
    exception_kinds = [k for k in InvoiceException.Kind.values if k != InvoiceException.Kind.LLM_REVIEW]
    now = timezone.now()
    today = date.today()
    span = timedelta(days=DAYS).total_seconds()
    counts = {"documents": 0, "invoices": 0, "extractions": 0, "fields": 0, "events": 0, "exceptions": 0,
              "approval_steps": 0, "erp_postings": 0}
    sample_ids: dict[str, list[int]] = {"any": [], "work": [], "exception": []}

    for start in range(0, n_invoices, CHUNK):
        stop = min(n_invoices, start + CHUNK)
        with transaction.atomic():
            docs = Document.objects.bulk_create([
                Document(sha256=hashlib.sha256(f"bench-{i}".encode()).hexdigest(), file=f"bench/{i}.pdf",
                         size=20_000 + i % 5000, kind=Document.Kind.PDF, content_type="application/pdf",
                         original_filename=f"invoice-{i}.pdf", channel=Channel.EMAIL if i % 3 else Channel.UPLOAD,
                         page_count=1 + i % 3,
                         # i = 0 is the newest; the work states cluster in the recent past below.
                         received_at=now - timedelta(seconds=span * i / n_invoices + rng.random()))
                for i in range(start, stop)
            ], batch_size=1000)
            invoices = []
            for i, doc in enumerate(docs, start):
                vendor = vendors[rng.randrange(N_VENDORS)]
                state = rng.choices(states, weights)[0]
                # Work is recent: an old invoice still waiting for a clerk is rare.
                if state not in posted_states and state not in (S.DUPLICATE, S.VOID) and i > n_invoices // 10 \
                        and rng.random() < 0.9:
                    state = S.PAID
                net = Decimal(rng.randrange(1000, 500000)) / 100
                tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
                issue = doc.received_at.date() - timedelta(days=rng.randrange(1, 10))
                invoices.append(Invoice(
                    document=doc, state=state, vendor=vendor, vendor_name=vendor.name,
                    vendor_iban=f"DE89370400440532{vendor.pk % 1_000_000:06d}",
                    invoice_number=f"B-{i:07d}", invoice_number_normalized=f"B{i:07d}",
                    issue_date=issue, due_date=issue + timedelta(days=30), currency="EUR",
                    net_amount=net, tax_amount=tax, total_amount=net + tax,
                    min_confidence=Decimal(rng.randrange(600, 1000)) / 1000,
                    created_at=doc.received_at, state_changed_at=doc.received_at + timedelta(hours=2),
                ))
            invoices = Invoice.objects.bulk_create(invoices, batch_size=1000)
            extractions = Extraction.objects.bulk_create([
                Extraction(document=inv.document, kind="pdf_text", status=Extraction.Status.SUCCEEDED,
                           started_at=inv.created_at, finished_at=inv.created_at + timedelta(seconds=2),
                           duration_ms=2000, result={"invoice_number": inv.invoice_number},
                           text=f"Invoice {inv.invoice_number}\n{inv.vendor_name}\nTotal {inv.total_amount} EUR")
                for inv in invoices
            ], batch_size=1000)
            fields, events, exceptions, steps, postings = [], [], [], [], []
            for inv, extraction in zip(invoices, extractions):
                t0 = inv.created_at
                for name in FIELD_NAMES:
                    fields.append(dict(
                        invoice_id=inv.pk, extraction_id=extraction.pk, name=name, value=str(getattr(inv, name)),
                        confidence=Decimal(rng.randrange(600, 1000)) / 1000, source=FieldSource.TEXT, page=1,
                        bbox=[100.0, 200.0, 300.0, 215.0], label=name.replace("_", " "), updated_at=t0))
                events.append(dict(invoice_id=inv.pk, kind=InvoiceEvent.Kind.RECEIVED, source="email",
                                           created_at=t0))
                events.append(dict(invoice_id=inv.pk, kind=InvoiceEvent.Kind.EXTRACTED, source="extract",
                                           created_at=t0 + timedelta(seconds=30)))
                events.append(dict(invoice_id=inv.pk, kind=InvoiceEvent.Kind.STATE, source="checks",
                                           from_state="extracting", to_state="needs_review",
                                           created_at=t0 + timedelta(minutes=1)))
                if inv.state == S.EXCEPTION:
                    for n_exc in range(rng.randint(1, 3)):
                        kind = rng.choice(exception_kinds)
                        exceptions.append(InvoiceException(
                            invoice=inv, kind=kind, key=f"bench-{n_exc}",
                            severity=rng.choice(InvoiceException.Severity.values),
                            message=f"Bench finding {kind}", params={"n": n_exc},
                            created_at=t0 + timedelta(minutes=1)))
                elif rng.random() < 0.15:
                    exceptions.append(InvoiceException(
                        invoice=inv, kind=rng.choice(exception_kinds), key="old",
                        severity=InvoiceException.Severity.WARNING, status=InvoiceException.Status.RESOLVED,
                        message="Bench finding, resolved", created_at=t0 + timedelta(minutes=1),
                        resolved_at=t0 + timedelta(hours=1), resolved_by=clerk))
                if inv.state in approval_states:
                    for level in range(1, rng.randint(1, 2) + 1):
                        decided = inv.state != S.AWAITING_APPROVAL
                        step_state = (ApprovalStep.State.REJECTED if inv.state == S.REJECTED else
                                      ApprovalStep.State.APPROVED if decided else ApprovalStep.State.PENDING)
                        approver = approvers[(inv.pk + level) % N_APPROVERS]
                        steps.append(ApprovalStep(
                            invoice=inv, level=level, approver=approver, state=step_state,
                            decided_by=approver if decided else None,
                            decided_at=t0 + timedelta(hours=level) if decided else None,
                            decided_via=ApprovalStep.Via.WEB if decided else "",
                            created_at=t0 + timedelta(minutes=2), activated_at=t0 + timedelta(minutes=2)))
                    events.append(dict(invoice_id=inv.pk, kind=InvoiceEvent.Kind.APPROVAL, source="approvals",
                                               message="Sent to approval", created_at=t0 + timedelta(minutes=2)))
                if inv.state in posted_states:
                    postings.append(ErpPosting(
                        invoice=inv, backend="tryton", idempotency_key=f"bench-{inv.pk}",
                        state=ErpPosting.State.POSTED, attempts=1, erp_id=str(inv.pk),
                        erp_number=f"SUP{inv.pk:07d}", created_at=t0 + timedelta(hours=3),
                        posted_at=t0 + timedelta(hours=3)))
                    events.append(dict(invoice_id=inv.pk, kind=InvoiceEvent.Kind.POSTING, source="erp",
                                               message="Posted", created_at=t0 + timedelta(hours=3)))
                if inv.state != S.NEEDS_REVIEW:
                    events.append(dict(invoice_id=inv.pk, kind=InvoiceEvent.Kind.STATE, source="bench",
                                               from_state="needs_review", to_state=inv.state,
                                               created_at=t0 + timedelta(hours=4)))
                if len(sample_ids["any"]) < 3000 and rng.random() < 0.2:
                    sample_ids["any"].append(inv.pk)
                if inv.state in Invoice.CLERK_WORK_STATES and len(sample_ids["work"]) < 2000:
                    sample_ids["work"].append(inv.pk)
                if inv.state == S.EXCEPTION and len(sample_ids["exception"]) < 1000:
                    sample_ids["exception"].append(inv.pk)
            fast_insert(ExtractedField, fields)
            fast_insert(InvoiceEvent, events)
            InvoiceException.objects.bulk_create(exceptions, batch_size=2000)
            ApprovalStep.objects.bulk_create(steps, batch_size=2000)
            ErpPosting.objects.bulk_create(postings, batch_size=2000)
        for key, rows in (("documents", docs), ("invoices", invoices), ("extractions", extractions),
                          ("fields", fields), ("events", events), ("exceptions", exceptions),
                          ("approval_steps", steps), ("erp_postings", postings)):
            counts[key] += len(rows)
    return {"counts": counts, "ids": sample_ids, "vendor_ids": [v.pk for v in vendors[:50]]}
