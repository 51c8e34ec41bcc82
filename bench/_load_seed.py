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
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path

DAYS = 730
CHUNK = 5000
N_VENDORS = 500
N_APPROVERS = 12
FIELD_NAMES = ("vendor_name", "vendor_iban", "invoice_number", "issue_date", "due_date", "currency",
               "net_amount", "tax_amount", "total_amount")


class Inserter:
    """Plain ``INSERT ... VALUES`` with executemany for one model, ids chosen by the caller.

    ``bulk_create`` builds a model instance per row and prepares every value through the field
    API; at ~2 million rows that was most of the seeding time. Here each column gets one
    converter picked once (dates and datetimes as the backend stores them, JSON through the
    field's own preparation, memoised per object since most rows share the same value), so the
    stored values are what the ORM would have written. The caller resets sequences afterwards.
    """

    def __init__(self, model):
        from django.db import connection

        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.defaults = {f.attname: f.get_default() for f in self.fields if f.has_default() or f.null}
        self.converters = [self._converter(f, connection) for f in self.fields]
        q = connection.ops.quote_name
        self.sql = (f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in self.fields)}) "
                    f"VALUES ({', '.join(['%s'] * len(self.fields))})")
        self.rows: list[list] = []

    @staticmethod
    def _converter(field, connection):
        kind = field.get_internal_type()
        sqlite = connection.vendor == "sqlite"
        if kind == "DateTimeField":
            if not sqlite:
                return None
            return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        if kind == "DateField":
            return (lambda v: None if v is None else v.isoformat()) if sqlite else None
        if kind == "JSONField":
            memo: dict[int, tuple] = {}

            def prep(v):
                hit = memo.get(id(v))
                if hit is None or hit[0] is not v:
                    hit = memo[id(v)] = (v, field.get_db_prep_save(v, connection))
                return hit[1]
            return prep
        if kind == "DecimalField":
            return (lambda v: None if v is None else str(v)) if sqlite else None
        if kind in ("CharField", "TextField", "GenericIPAddressField", "FileField"):
            return lambda v: v if type(v) is str or v is None else str(v)
        return None

    def add(self, **row) -> None:
        values = []
        for field, convert in zip(self.fields, self.converters):
            value = row[field.attname] if field.attname in row else self.defaults.get(field.attname, "")
            values.append(convert(value) if convert else value)
        self.rows.append(values)

    def flush(self) -> int:
        from django.db import connection

        n = len(self.rows)
        with connection.cursor() as cursor:
            for start in range(0, n, 2000):
                cursor.executemany(self.sql, self.rows[start:start + 2000])
        self.rows = []
        return n


def _sample_pdf() -> str:
    """One real one-page PDF that every seeded Document points at (media-relative name), so the
    invoice page opens an original as it does in production instead of logging a missing file."""
    from django.conf import settings
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    name = "bench/sample.pdf"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page = canvas.Canvas(str(path), pagesize=A4)
    page.drawString(72, 760, "Bench Vendor GmbH - Invoice B-0000001 - Total 1,190.00 EUR")
    page.save()
    return name


def reset_sequences(models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


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
    original = _sample_pdf()
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
    # The newest invoice's last event lies 4 h after its arrival: keep that in the past.
    now = timezone.now() - timedelta(hours=5)
    span = timedelta(days=DAYS).total_seconds()
    sample_ids: dict[str, list[int]] = {"any": [], "work": [], "exception": []}
    tables = {name: Inserter(model) for name, model in (
        ("documents", Document), ("invoices", Invoice), ("extractions", Extraction), ("fields", ExtractedField),
        ("events", InvoiceEvent), ("exceptions", InvoiceException), ("approval_steps", ApprovalStep),
        ("erp_postings", ErpPosting))}
    counts = dict.fromkeys(tables, 0)
    next_id = dict.fromkeys(tables, 1)  # fresh database: every table starts empty

    def new_id(table: str) -> int:
        next_id[table] += 1
        return next_id[table] - 1

    T = tables
    bbox = [100.0, 200.0, 300.0, 215.0]
    no_params: dict = {}
    for i in range(n_invoices):
        # i = 0 is the newest; work states cluster in the recent past (below).
        t0 = now - timedelta(seconds=span * i / n_invoices + rng.random())
        doc_id = new_id("documents")
        T["documents"].add(
            id=doc_id, sha256=hashlib.sha256(f"bench-{i}".encode()).hexdigest(), file=original,
            size=20_000 + i % 5000, kind=Document.Kind.PDF, content_type="application/pdf",
            original_filename=f"invoice-{i}.pdf", channel=Channel.EMAIL if i % 3 else Channel.UPLOAD,
            page_count=1 + i % 3, received_at=t0, is_encrypted=False)
        vendor = vendors[rng.randrange(N_VENDORS)]
        state = rng.choices(states, weights)[0]
        # Work is recent: an old invoice still waiting for a clerk or an approver is rare.
        if state not in posted_states and state not in (S.DUPLICATE, S.VOID) and i > n_invoices // 10 \
                and rng.random() < 0.9:
            state = S.PAID
        net = Decimal(rng.randrange(1000, 500000)) / 100
        tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
        issue = t0.date() - timedelta(days=rng.randrange(1, 10))
        inv_id = new_id("invoices")
        inv = dict(
            id=inv_id, document_id=doc_id, state=state, document_type="invoice", vendor_id=vendor.pk,
            vendor_name=vendor.name, vendor_iban=f"DE89370400440532{vendor.pk % 1_000_000:06d}",
            invoice_number=f"B-{i:07d}", invoice_number_normalized=f"B{i:07d}",
            issue_date=issue, due_date=issue + timedelta(days=30), currency="EUR",
            net_amount=net, tax_amount=tax, total_amount=net + tax,
            min_confidence=Decimal(rng.randrange(600, 1000)) / 1000, touched_by_human=False,
            created_at=t0, updated_at=t0 + timedelta(hours=4), state_changed_at=t0 + timedelta(hours=4))
        T["invoices"].add(**inv)
        extraction_id = new_id("extractions")
        T["extractions"].add(
            id=extraction_id, document_id=doc_id, kind="pdf_text", status=Extraction.Status.SUCCEEDED,
            started_at=t0, finished_at=t0 + timedelta(seconds=2), duration_ms=2000,
            result={"invoice_number": inv["invoice_number"]},
            text=f"Invoice {inv['invoice_number']}\n{vendor.name}\nTotal {inv['total_amount']} EUR")
        for name in FIELD_NAMES:
            T["fields"].add(
                id=new_id("fields"), invoice_id=inv_id, extraction_id=extraction_id, name=name,
                value=str(inv[name]), confidence=Decimal(rng.randrange(600, 1000)) / 1000,
                source=FieldSource.TEXT, page=1, bbox=bbox, label=name.replace("_", " "), updated_at=t0)

        def event(kind, source, at, **extra):
            T["events"].add(id=new_id("events"), invoice_id=inv_id, kind=kind, source=source, created_at=at,
                            params=no_params, **extra)

        event(InvoiceEvent.Kind.RECEIVED, "email", t0)
        event(InvoiceEvent.Kind.EXTRACTED, "extract", t0 + timedelta(seconds=30))
        event(InvoiceEvent.Kind.STATE, "checks", t0 + timedelta(minutes=1), from_state="extracting",
              to_state="needs_review")
        if state == S.EXCEPTION:
            for n_exc in range(rng.randint(1, 3)):
                kind = rng.choice(exception_kinds)
                T["exceptions"].add(
                    id=new_id("exceptions"), invoice_id=inv_id, kind=kind, key=f"bench-{n_exc}",
                    severity=rng.choice(InvoiceException.Severity.values), status=InvoiceException.Status.OPEN,
                    message=f"Bench finding {kind}", params={"n": n_exc}, created_at=t0 + timedelta(minutes=1))
        elif rng.random() < 0.15:
            T["exceptions"].add(
                id=new_id("exceptions"), invoice_id=inv_id, kind=rng.choice(exception_kinds), key="old",
                severity=InvoiceException.Severity.WARNING, status=InvoiceException.Status.RESOLVED,
                message="Bench finding, resolved", params=no_params, created_at=t0 + timedelta(minutes=1),
                resolved_at=t0 + timedelta(hours=1), resolved_by_id=clerk.pk)
        if state in approval_states:
            decided = state != S.AWAITING_APPROVAL
            step_state = (ApprovalStep.State.REJECTED if state == S.REJECTED else
                          ApprovalStep.State.APPROVED if decided else ApprovalStep.State.PENDING)
            for level in range(1, rng.randint(1, 2) + 1):
                approver = approvers[(inv_id + level) % N_APPROVERS]
                T["approval_steps"].add(
                    id=new_id("approval_steps"), invoice_id=inv_id, round=1, level=level, approver_id=approver.pk,
                    state=step_state, decided_by_id=approver.pk if decided else None,
                    decided_at=t0 + timedelta(hours=level) if decided else None,
                    decided_via=ApprovalStep.Via.WEB if decided else "",
                    created_at=t0 + timedelta(minutes=2), activated_at=t0 + timedelta(minutes=2))
            event(InvoiceEvent.Kind.APPROVAL, "approvals", t0 + timedelta(minutes=2), message="Sent to approval")
        if state in posted_states:
            T["erp_postings"].add(
                id=new_id("erp_postings"), invoice_id=inv_id, backend="tryton", idempotency_key=f"bench-{inv_id}",
                state=ErpPosting.State.POSTED, attempts=1, erp_id=str(inv_id), erp_number=f"SUP{inv_id:07d}",
                created_at=t0 + timedelta(hours=3), updated_at=t0 + timedelta(hours=3),
                posted_at=t0 + timedelta(hours=3))
            event(InvoiceEvent.Kind.POSTING, "erp", t0 + timedelta(hours=3), message="Posted")
        if state != S.NEEDS_REVIEW:
            event(InvoiceEvent.Kind.STATE, "bench", t0 + timedelta(hours=4), from_state="needs_review",
                  to_state=state)
        if len(sample_ids["any"]) < 3000 and rng.random() < 0.2:
            sample_ids["any"].append(inv_id)
        if state in Invoice.CLERK_WORK_STATES and len(sample_ids["work"]) < 2000:
            sample_ids["work"].append(inv_id)
        if state == S.EXCEPTION and len(sample_ids["exception"]) < 1000:
            sample_ids["exception"].append(inv_id)
        if (i + 1) % CHUNK == 0 or i + 1 == n_invoices:
            with transaction.atomic():
                for name, table in tables.items():  # parents before children
                    counts[name] += table.flush()
    reset_sequences([Document, Invoice, Extraction, ExtractedField, InvoiceEvent, InvoiceException, ApprovalStep,
                     ErpPosting])
    return {"counts": counts, "ids": sample_ids, "vendor_ids": [v.pk for v in vendors[:50]]}
