"""Demo data: users in each role, vendors, purchase orders and invoices from generated documents.

Idempotent: running it again neither fails nor duplicates anything. Every invoice is a real
document (text PDF, Factur-X, UBL/CII, scan, photo) rendered by ``apinvoices.demo``, ingested
through the ingestion service and extracted by the real pipeline, so the demo shows what the
product does with real input, not hand-set rows.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from apinvoices.demo.history import demo_history_spread
from apinvoices.roles import Role

SEED = 2026
DEMO_CHANNEL = "demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role
    full_name: str
    is_staff: bool = False


# Fixed, documented demo passwords: this data is for trying the product locally only.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("clerk", "clerk-demo-pass", Role.CLERK, "Clara Clerk"),
    DemoUser("clerk2", "clerk2-demo-pass", Role.CLERK, "Carl Second-Clerk"),
    DemoUser("approver", "approver-demo-pass", Role.APPROVER, "Anna Approver"),
    DemoUser("approver2", "approver2-demo-pass", Role.APPROVER, "Ben Second-Approver"),
    DemoUser("apadmin", "apadmin-demo-pass", Role.ADMIN, "Ada Admin", is_staff=True),
    DemoUser("auditor", "auditor-demo-pass", Role.AUDITOR, "Otto Auditor"),
)


@transaction.atomic
def demo_users_ensure() -> list[tuple[DemoUser, bool]]:
    """Create the demo users (or reset their role and password). Returns (user, created) pairs."""
    User = get_user_model()
    result = []
    for spec in DEMO_USERS:
        first, _, last = spec.full_name.partition(" ")
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={"first_name": first, "last_name": last, "email": f"{spec.username}@example.test"},
        )
        user.set_password(spec.password)
        user.is_staff = spec.is_staff
        user.save()
        user.groups.add(Group.objects.get(name=spec.role.value))
        result.append((spec, created))
    return result


# --- vendors and purchase orders --------------------------------------------------------------

# Demo vendors deliberately left out of the vendor master, to show "unknown vendor".
UNKNOWN_VENDOR_INDEX = 7
# A vendor whose bank account nobody has verified yet, to show the four-eyes flow.
UNVERIFIED_VENDOR_INDEX = 4


def demo_vendors_ensure() -> dict[str, object]:
    """Vendor master rows for the demo vendors, keyed by tax ID. Bank accounts are entered by
    the AP admin and verified by the second clerk (four-eyes), except one left unverified."""
    from apinvoices.demo.specs import DEMO_VENDORS, VENDOR_PROFILES
    from apinvoices.models import Vendor, VendorBankAccount

    users = {u.username: u for u in get_user_model().objects.filter(username__in=["apadmin", "clerk2", "approver2"])}
    vendors = {}
    for index, party in enumerate(DEMO_VENDORS):
        if index == UNKNOWN_VENDOR_INDEX:
            continue
        profile = VENDOR_PROFILES[party.name]
        vendor, _ = Vendor.objects.get_or_create(
            tax_id=party.tax_id,
            defaults={
                "name": party.name,
                "country": party.country,
                "default_currency": profile.currency,
                "category": profile.trade,
                "email": party.email,
                "phone": party.phone,
                "address": "\n".join(party.address_lines()),
                "payment_terms_days": 30,
                "owner": users.get("approver2") if profile.trade == "it" else None,
            },
        )
        vendors[party.tax_id] = vendor
        if not (party.iban or party.account_number):
            continue
        verified = index != UNVERIFIED_VENDOR_INDEX
        VendorBankAccount.objects.get_or_create(
            vendor=vendor,
            iban=party.iban,
            account_number=party.account_number,
            defaults={
                "bic": party.bic,
                "routing_number": party.routing_number,
                "holder_name": party.name,
                "currency": profile.currency,
                "entered_by": users["apadmin"],
                "source": "vendor onboarding",
                "status": VendorBankAccount.Status.VERIFIED if verified else VendorBankAccount.Status.UNVERIFIED,
                "verified_by": users["clerk2"] if verified else None,
                "verified_at": timezone.now() if verified else None,
                "verification_method": "Call-back to the number on the vendor form" if verified else "",
            },
        )
    return vendors


def _purchase_order_for(spec, vendor, *, number: str, price_rise: Decimal, received_share: Decimal):
    """A purchase order for the lines of ``spec``: ordered at the billed price less
    ``price_rise`` (a fraction), with ``received_share`` of each quantity received (whole units
    stay whole: half of 3 pallets received is 1, not 1.5)."""
    from apinvoices.models import GoodsReceipt, PurchaseOrder, PurchaseOrderLine

    po, created = PurchaseOrder.objects.get_or_create(
        number=number,
        defaults={"vendor": vendor, "currency": spec.currency, "order_date": spec.issue_date - timedelta(days=21),
                  "total_amount": spec.net_amount},
    )
    if not created:
        return po
    for line in spec.lines:
        po_line = PurchaseOrderLine.objects.create(
            purchase_order=po, line_no=line.position, description=line.description,
            quantity=line.quantity, unit_price=(line.unit_price / (1 + price_rise)).quantize(Decimal("0.01")),
        )
        received = line.quantity * received_share
        if line.quantity == line.quantity.to_integral_value():
            received = received.to_integral_value(ROUND_FLOOR)
        if received > 0:
            GoodsReceipt.objects.create(
                po_line=po_line, quantity=received, received_on=spec.issue_date - timedelta(days=3),
                reference=f"GR-{number[-4:]}-{line.position}",
            )
    return po


# --- documents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDocument:
    filename: str
    content: bytes
    note: str


def _encrypt(pdf: bytes, password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password, owner_password=None, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _blank_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# How the ~60 demo documents are made: (kind, count). Scans and photos go through real OCR.
DOCUMENT_MIX = (("pdf", 34), ("facturx", 6), ("ubl", 4), ("cii", 3), ("scan", 5), ("photo", 2))
DEMO_PDF_PASSWORD = "demo-secret"


def demo_documents(vendors: dict) -> list[DemoDocument]:
    """Render the demo documents deterministically (same seed, same invoices)."""
    from apinvoices.demo.corpus import render_document
    from apinvoices.demo.specs import DEMO_VENDORS, random_spec
    from schwifty import IBAN

    rng = random.Random(SEED)
    today = timezone.localdate()
    window = (today - timedelta(days=50), today - timedelta(days=1))
    # Vendors invoice on working days; a weekend date is a warning the demo shows once, not daily.
    weekdays = [window[0] + timedelta(days=n) for n in range((window[1] - window[0]).days + 1)
                if (window[0] + timedelta(days=n)).weekday() < 5]
    known = [p for i, p in enumerate(DEMO_VENDORS) if i != UNKNOWN_VENDOR_INDEX]
    docs: list[DemoDocument] = []
    specs = []
    n = 0
    for kind, count in DOCUMENT_MIX:
        for _ in range(count):
            n += 1
            einvoice = kind in ("ubl", "cii", "facturx")
            party = rng.choice([p for p in known if not einvoice or p.vat_id and p.country not in ("GB", "CH")])
            spec = random_spec(rng, vendor=party, issue_date=rng.choice(weekdays), einvoice=einvoice,
                               line_count=rng.randint(1, 4) if kind in ("scan", "photo") else None)
            specs.append(spec)
            rendered = render_document(spec, kind, rng)
            docs.append(DemoDocument(f"demo-{n:02d}-{kind}-{spec.number}.{rendered.extension}".replace("/", "-"),
                                     rendered.content, kind))

    # Every PO number a vendor prints refers to a real order in the master, fully received.
    for spec in specs[4:]:
        if spec.po_number:
            _purchase_order_for(spec, vendors[spec.vendor.tax_id], number=spec.po_number,
                                price_rise=Decimal("0"), received_share=Decimal("1"))

    # The cases a clerk meets every week.
    base = specs[0]
    po_spec = replace(specs[1], po_number="PO-2026-0101")
    docs[1] = DemoDocument("demo-02-pdf-po-matched.pdf", render_document(po_spec, "pdf", rng).content, "PO, fully received")
    _purchase_order_for(po_spec, vendors[po_spec.vendor.tax_id], number="PO-2026-0101",
                        price_rise=Decimal("0"), received_share=Decimal("1"))
    short_spec = replace(specs[2], po_number="PO-2026-0102")
    docs[2] = DemoDocument("demo-03-pdf-po-partly-received.pdf", render_document(short_spec, "pdf", rng).content, "PO, half received")
    _purchase_order_for(short_spec, vendors[short_spec.vendor.tax_id], number="PO-2026-0102",
                        price_rise=Decimal("0"), received_share=Decimal("0.5"))
    dear_spec = replace(specs[3], po_number="PO-2026-0103")
    docs[3] = DemoDocument("demo-04-pdf-po-price-up.pdf", render_document(dear_spec, "pdf", rng).content, "PO, price above order")
    _purchase_order_for(dear_spec, vendors[dear_spec.vendor.tax_id], number="PO-2026-0103",
                        price_rise=Decimal("0.08"), received_share=Decimal("1"))

    duplicate = replace(base, layout="modern" if base.layout != "modern" else "grid")
    docs.append(DemoDocument("demo-dup-resent.pdf", render_document(duplicate, "pdf", rng).content, "same invoice sent again"))
    if base.vendor.iban:
        new_iban = str(IBAN.generate(base.vendor.country if base.vendor.country != "GB" else "DE",
                                     bank_code="50010517", account_code="0648489890"))
        changed = replace(specs[5], vendor=replace(specs[5].vendor, iban=new_iban), number=specs[5].number + "-B")
        docs.append(DemoDocument("demo-new-bank-account.pdf", render_document(changed, "pdf", rng).content, "bank details changed"))
    unknown = random_spec(rng, vendor=DEMO_VENDORS[UNKNOWN_VENDOR_INDEX], date_range=window)
    docs.append(DemoDocument("demo-unknown-vendor.pdf", render_document(unknown, "pdf", rng).content, "vendor not in master"))
    wrong_sum = replace(specs[6], total_amount=specs[6].total_amount + Decimal("10.00"), number=specs[6].number + "-X")
    docs.append(DemoDocument("demo-wrong-total.pdf", render_document(wrong_sum, "pdf", rng).content, "total does not add up"))
    locked = render_document(specs[7], "pdf", rng).content
    docs.append(DemoDocument("demo-password-protected.pdf", _encrypt(locked, DEMO_PDF_PASSWORD), "encrypted PDF"))
    docs.append(DemoDocument("demo-blank-scan.pdf", _blank_pdf(), "blank page: nothing to read"))
    return docs


def demo_invoices_ensure(*, log=print) -> int:
    """Ingest and extract the demo documents once. Returns how many were added."""
    from apinvoices.ingestion.service import Accepted, document_ingest
    from apinvoices.models import Document
    from apinvoices.services.extraction import invoice_extract

    if Document.objects.filter(channel=DEMO_CHANNEL).exists():
        return 0
    vendors = demo_vendors_ensure()
    added = 0
    with override_settings(AP_EXTRACT_ON_INGEST=False):
        for doc in demo_documents(vendors):
            result = document_ingest(data=doc.content, filename=doc.filename, channel=DEMO_CHANNEL,
                                     source_ref=f"seed_demo: {doc.note}")
            if isinstance(result, Accepted) and result.invoice is not None:
                if result.invoice.state == result.invoice.State.RECEIVED:
                    invoice = invoice_extract(invoice_id=result.invoice.pk, source="seed_demo")
                else:
                    invoice = result.invoice
                log(f"  {doc.filename:<48} {invoice.get_state_display()}")
                added += 1
            else:
                log(f"  {doc.filename:<48} {result.outcome}")
    demo_workflow_advance(log=log)
    demo_history_spread(channel=DEMO_CHANNEL, seed=SEED)
    return added


def demo_workflow_advance(*, log=print) -> None:
    """Move some demo invoices further, as the team would have: the clerk sends clean
    needs-review invoices to approval, approvers decide, approved ones are posted to the ERP
    (the file export backend by default). Uses the same services as the pages."""
    from approvals.models import ApprovalStep
    from approvals.services.decisions import Decision, approval_step_decide
    from django.db.models import Count

    from apinvoices.models import Invoice, InvoiceException
    from apinvoices.services.invoices import invoice_submit_for_approval
    from apinvoices.states import invoice_transition
    from erp_integration.models import ErpPosting
    from erp_integration.services.sending import erp_posting_send

    User = get_user_model()
    clerk = User.objects.get(username="clerk")
    S = Invoice.State
    blocking = InvoiceException.objects.filter(status="open", severity="blocking").values("invoice_id")
    ready = list(
        Invoice.objects.filter(state=S.NEEDS_REVIEW, vendor__isnull=False)
        .exclude(pk__in=blocking).order_by("pk")[:12]
    )
    for invoice in ready:
        try:
            invoice_submit_for_approval(invoice=invoice, actor=clerk, source="seed_demo")
        except Exception as err:  # a rule without approvers: leave it for the clerk
            log(f"  could not route {invoice}: {err}")

    pending = list(
        ApprovalStep.objects.filter(state=ApprovalStep.State.PENDING)
        .select_related("invoice", "approver").order_by("invoice_id", "pk")
    )
    first_step: dict[int, object] = {}
    for step in pending:
        first_step.setdefault(step.invoice_id, step)
    for n, step in enumerate(first_step.values()):
        if n % 4 == 3:
            continue  # some stay in the approvers' queues
        reject = n == 2
        approval_step_decide(
            step=step, actor=step.approver,
            decision=Decision.REJECT if reject else Decision.APPROVE,
            comment="Not ordered by our team; please check with purchasing." if reject else "OK",
        )
    postings = list(ErpPosting.objects.filter(state=ErpPosting.State.PENDING).order_by("pk"))
    for posting in postings[: max(len(postings) - 2, 0)]:  # the last two wait for the worker
        erp_posting_send(posting_id=posting.pk)

    duplicate = Invoice.objects.filter(document__original_filename="demo-dup-resent.pdf").first()
    if duplicate and duplicate.state == S.EXCEPTION:
        invoice_transition(invoice=duplicate, to=S.DUPLICATE, actor=clerk,
                           reason="Same invoice sent twice by the vendor.")
    counts = dict(Invoice.objects.values_list("state").annotate(n=Count("id")))
    log("  states: " + ", ".join(f"{state} {n}" for state, n in sorted(counts.items())))
