"""The AP domain: vendors, originals, invoices, their extraction, exceptions and timeline.

Money is always a DecimalField next to a currency code on the same row (see ``money.py``);
business dates are DateFields; timestamps are aware datetimes in UTC.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apinvoices.extraction.types import PUBLIC_FIELDS
from apinvoices.money import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    CURRENCY_CODE_LENGTH,
    QUANTITY_DECIMAL_PLACES,
    QUANTITY_MAX_DIGITS,
    UNIT_PRICE_DECIMAL_PLACES,
)


def amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs
    )


def currency_field(**kwargs) -> models.CharField:
    return models.CharField(max_length=CURRENCY_CODE_LENGTH, **kwargs)


CURRENCY_CODE_REGEX = r"^[A-Z]{3}$"


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


# --- Vendors ------------------------------------------------------------------------------------


class Vendor(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    tax_id = models.CharField(
        _("tax ID"), max_length=32, blank=True, help_text=_("VAT ID or EIN, compact upper case")
    )
    country = models.CharField(_("country"), max_length=2, blank=True)
    default_currency = currency_field(verbose_name=_("default currency"), default="EUR")
    category = models.CharField(
        _("category"), max_length=64, blank=True, help_text=_("Vendor group used by routing rules")
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(
        _("phone on file"), max_length=40, blank=True, help_text=_("For bank-detail call-backs")
    )
    address = models.TextField(_("address"), blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_vendors",
        help_text=_("Business owner; routing rules may send approvals to this person"),
    )
    erp_id = models.CharField(_("ERP id"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tax_id"], condition=~Q(tax_id=""), name="vendor_unique_tax_id"
            ),
            models.CheckConstraint(
                condition=Q(default_currency__regex=CURRENCY_CODE_REGEX),
                name="vendor_currency_iso",
            ),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


class VendorBankAccount(TimeStampedModel):
    """A bank account of a vendor. Payments go only to verified accounts (four-eyes)."""

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("Unverified")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="bank_accounts")
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    account_number = models.CharField(_("account number"), max_length=34, blank=True)
    routing_number = models.CharField(_("ABA routing number"), max_length=9, blank=True)
    holder_name = models.CharField(_("account holder"), max_length=200, blank=True)
    currency = currency_field(verbose_name=_("currency"), default="EUR")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNVERIFIED)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source = models.CharField(
        _("where it came from"), max_length=64, blank=True, help_text=_("e.g. invoice 123, ERP sync")
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["vendor", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "iban"], condition=~Q(iban=""), name="bank_account_unique_iban"
            ),
            models.UniqueConstraint(
                fields=["vendor", "routing_number", "account_number"],
                condition=~Q(account_number=""),
                name="bank_account_unique_us_account",
            ),
            models.CheckConstraint(
                condition=~Q(iban="") | ~Q(account_number=""), name="bank_account_has_number"
            ),
            # Four-eyes: whoever entered an account can never be the one who verified it.
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True)
                | Q(entered_by__isnull=True)
                | ~Q(verified_by=F("entered_by")),
                name="bank_account_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | Q(verified_by__isnull=False),
                name="bank_account_verified_has_verifier",
            ),
        ]
        # Who else is paid to this IBAN (duplicate check); the unique constraint leads with vendor.
        indexes = [models.Index(fields=["iban"], name="bank_account_iban_idx")]

    def __str__(self) -> str:
        return self.iban or f"{self.routing_number} {self.account_number}"


# --- Originals ----------------------------------------------------------------------------------


class Channel(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    EMAIL = "email", _("E-mail")
    FOLDER = "folder", _("Drop folder")
    CLI = "cli", _("Command line")
    DEMO = "demo", _("Demo data")


def document_upload_to(instance: Document, filename: str) -> str:
    # Content-addressed: the path is derived from the hash, never from the user's file name.
    digest = instance.sha256
    return f"originals/{digest[:2]}/{digest[2:4]}/{digest}"


class Document(models.Model):
    """One original file, stored once per distinct content and never modified."""

    class Kind(models.TextChoices):
        PDF = "pdf", _("PDF")
        IMAGE = "image", _("Image")
        XML = "xml", _("E-invoice XML")
        EMAIL = "email", _("E-mail message")

    sha256 = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to=document_upload_to, max_length=255)
    size = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    original_filename = models.CharField(max_length=255, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    source_ref = models.CharField(
        max_length=255, blank=True, help_text=_("Mailbox UID, folder path or uploader")
    )
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    page_count = models.PositiveIntegerField(null=True, blank=True)
    is_encrypted = models.BooleanField(default=False)
    # The PDF password a clerk entered, encrypted with a key derived from SECRET_KEY
    # (never stored in clear); blank when none is needed.
    password_ciphertext = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attachments",
        help_text=_("The e-mail this file was attached to"),
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"),
        ]

    def __str__(self) -> str:
        return self.original_filename or self.sha256[:12]


class DocumentReceipt(models.Model):
    """Every arrival of an original, the first and any repeats (which create no new Document)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="receipts")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True)
    source_ref = models.CharField(max_length=255, blank=True)
    sender = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    is_duplicate = models.BooleanField(default=False)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.filename}"


class InboundMail(models.Model):
    """One message seen in an IMAP mailbox: the key that makes mail import exactly-once."""

    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        NO_INVOICE = "no_invoice", _("No invoice attachment")
        FAILED = "failed", _("Failed")

    account = models.CharField(max_length=255)
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    sender = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.TextField(blank=True)
    eml = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    moved = models.BooleanField(default=False, help_text=_("Moved to Processed/Failed on the server"))

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "folder", "uidvalidity", "uid"], name="inbound_mail_unique_uid"
            )
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id


# --- Purchase orders ----------------------------------------------------------------------------


class PurchaseOrder(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(max_length=64, unique=True)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="purchase_orders")
    currency = currency_field(default="EUR")
    order_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    total_amount = amount_field(default=0)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erp_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-order_date", "number"]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=CURRENCY_CODE_REGEX), name="po_currency_iso"),
        ]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    sku = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES)
    unit_price = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=UNIT_PRICE_DECIMAL_PLACES
    )

    class Meta:
        ordering = ["purchase_order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "line_no"], name="po_line_unique_no"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order.number}/{self.line_no}"


class GoodsReceipt(models.Model):
    """Quantity of a PO line received (3-way matching)."""

    po_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.CASCADE, related_name="receipts")
    quantity = models.DecimalField(max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES)
    received_on = models.DateField()
    reference = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["received_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="goods_receipt_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.reference or self.pk}: {self.quantity}"


class MatchTolerance(models.Model):
    """PO matching tolerances, per vendor or (vendor empty) the default. Edited in admin."""

    vendor = models.OneToOneField(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="match_tolerance"
    )
    price_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("2"))
    price_absolute = amount_field(default=Decimal("5"))
    quantity_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            # NULLs are distinct in unique indexes, so the single default row needs an expression.
            models.UniqueConstraint(Coalesce("vendor", Value(0)), name="one_tolerance_per_vendor"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor or _('Default')}: ±{self.price_percent}% / {self.price_absolute}"


# --- Invoices -----------------------------------------------------------------------------------


class InvoiceQuerySet(models.QuerySet):
    def open_for_clerks(self):
        return self.filter(state__in=Invoice.CLERK_WORK_STATES)

    def with_open_exception_count(self):
        return self.annotate(
            open_exception_count=models.Count(
                "exceptions", filter=Q(exceptions__status=InvoiceException.Status.OPEN)
            )
        )

    def overdue(self, today=None):
        today = today or timezone.localdate()
        return self.filter(due_date__lt=today).exclude(state__in=Invoice.CLOSED_STATES)


class Invoice(TimeStampedModel):
    """A vendor invoice (or credit note) read from one Document.

    ``state`` is written only by ``apinvoices.states.invoice_transition``.
    """

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        EXTRACTING = "extracting", _("Extracting")
        PASSWORD_NEEDED = "password_needed", _("Password needed")
        EXTRACTION_FAILED = "extraction_failed", _("Extraction failed")
        NEEDS_REVIEW = "needs_review", _("Needs review")
        EXCEPTION = "exception", _("Exception")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        POSTED = "posted", _("Posted")
        SCHEDULED = "scheduled", _("Scheduled for payment")
        PAID = "paid", _("Paid")
        DUPLICATE = "duplicate", _("Duplicate")
        VOID = "void", _("Void")

    class DocumentType(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    CLERK_WORK_STATES = (
        State.PASSWORD_NEEDED,
        State.EXTRACTION_FAILED,
        State.NEEDS_REVIEW,
        State.EXCEPTION,
        State.REJECTED,
    )
    CLOSED_STATES = (State.PAID, State.DUPLICATE, State.VOID)
    # Field names a clerk may edit on the review screen (also the extraction field names).
    EDITABLE_FIELDS = PUBLIC_FIELDS

    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="invoice")
    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED, db_index=True)
    document_type = models.CharField(
        max_length=16, choices=DocumentType.choices, default=DocumentType.INVOICE
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    # As read from the document; the vendor master row may differ (that is what checks look at).
    vendor_name = models.CharField(max_length=200, blank=True)
    vendor_tax_id = models.CharField(max_length=32, blank=True)
    vendor_iban = models.CharField(max_length=34, blank=True)
    vendor_bic = models.CharField(max_length=11, blank=True)
    invoice_number = models.CharField(max_length=64, blank=True)
    invoice_number_normalized = models.CharField(max_length=64, blank=True, db_index=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    payment_terms = models.CharField(max_length=200, blank=True)
    currency = currency_field(blank=True)
    net_amount = amount_field(null=True, blank=True)
    tax_amount = amount_field(null=True, blank=True)
    total_amount = amount_field(null=True, blank=True)
    po_number = models.CharField(max_length=64, blank=True)
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    cost_centre = models.CharField(max_length=32, blank=True)
    gl_account = models.CharField(max_length=32, blank=True)
    # Lowest confidence among the key fields (0..1); drives the inbox's confidence badge.
    min_confidence = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    touched_by_human = models.BooleanField(
        default=False, help_text=_("A clerk edited a field (the invoice is not touchless)")
    )
    state_reason = models.TextField(blank=True, help_text=_("Why the invoice is in its state"))
    state_changed_at = models.DateTimeField(default=timezone.now)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("edit_fields", "Can edit extracted fields"),
            ("send_to_approval", "Can send invoices to approval"),
            ("void_invoice", "Can void invoices"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency="") | Q(currency__regex=CURRENCY_CODE_REGEX),
                name="invoice_currency_iso",
            ),
            models.CheckConstraint(
                condition=Q(net_amount__isnull=True) | ~Q(currency=""),
                name="invoice_amount_has_currency",
            ),
            models.CheckConstraint(
                condition=Q(total_amount__isnull=True) | ~Q(currency=""),
                name="invoice_total_has_currency",
            ),
            models.CheckConstraint(
                condition=Q(min_confidence__isnull=True)
                | (Q(min_confidence__gte=0) & Q(min_confidence__lte=1)),
                name="invoice_confidence_range",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-created_at"]),
            models.Index(fields=["vendor", "invoice_number_normalized"]),
            models.Index(fields=["due_date"]),
            # The inbox's "All" tab: newest first with the pk as tie-breaker, read in index order.
            models.Index(fields=["created_at", "id"], name="invoice_created_id_idx"),
            # Duplicate check across vendors (same total to the same IBAN) looks up by total.
            models.Index(fields=["total_amount"], name="invoice_total_amount_idx"),
            # A vendor's recent history (amount pattern, near duplicates), newest issue date first.
            models.Index(fields=["vendor", "issue_date"], name="invoice_vendor_issue_idx"),
        ]

    def __str__(self) -> str:
        return self.invoice_number or f"#{self.pk}"

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == self.DocumentType.CREDIT_NOTE


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=500, blank=True)
    quantity = models.DecimalField(
        max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES, null=True, blank=True
    )
    unit_price = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=UNIT_PRICE_DECIMAL_PLACES, null=True, blank=True
    )
    amount = amount_field(null=True, blank=True)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoice_lines"
    )
    gl_account = models.CharField(max_length=32, blank=True)
    cost_centre = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.description[:40]}"


class InvoiceTax(models.Model):
    """The tax breakdown per rate as the document states it."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")
    rate = models.DecimalField(max_digits=6, decimal_places=3)
    base_amount = amount_field()
    tax_amount = amount_field()
    category = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["invoice", "-rate"]

    def __str__(self) -> str:
        return f"{self.rate}%: {self.tax_amount}"


class FieldSource(models.TextChoices):
    XML = "xml", _("E-invoice XML")
    TEXT = "text", _("PDF text")
    OCR = "ocr", _("OCR")
    LLM = "llm", _("LLM")
    CLERK = "clerk", _("Clerk")
    MEMORY = "memory", _("Vendor memory")
    ERP = "erp", _("ERP")


class Extraction(models.Model):
    """One run of the extraction pipeline over a Document (kept for history and debugging)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="extractions")
    kind = models.CharField(max_length=16, blank=True, help_text=_("ubl, cii, facturx, pdf_text, ocr"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text=_("The extraction as JSON (CLI format)"))
    text = models.TextField(blank=True)
    # Word boxes per page for the review screen's "click a word" ({"1": [[text, x0, top, x1,
    # bottom], ...]} in the frame of the page image), filled the first time a page is asked for.
    words = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"{self.document_id} {self.kind} {self.status}"


class ExtractedField(models.Model):
    """Where the current value of one invoice field came from, and how sure we are."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="fields")
    extraction = models.ForeignKey(
        Extraction, null=True, blank=True, on_delete=models.SET_NULL, related_name="fields"
    )
    name = models.CharField(max_length=32)
    value = models.TextField(blank=True)
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    source = models.CharField(max_length=8, choices=FieldSource.choices)
    page = models.PositiveIntegerField(null=True, blank=True)
    bbox = models.JSONField(null=True, blank=True, help_text=_("[x0, top, x1, bottom] in PDF points"))
    label = models.CharField(max_length=100, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["invoice", "name"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "name"], name="extracted_field_unique_name"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="extracted_field_confidence_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} ({self.confidence})"


class VendorFieldHint(TimeStampedModel):
    """Vendor memory: what a clerk's correction taught us about one field of one vendor."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="field_hints")
    field_name = models.CharField(max_length=32)
    label = models.CharField(max_length=100, blank=True)
    page = models.PositiveIntegerField(null=True, blank=True)
    bbox = models.JSONField(null=True, blank=True)
    value_pattern = models.CharField(max_length=200, blank=True)
    number_format = models.CharField(max_length=16, blank=True, help_text=_("e.g. 1.234,56"))
    date_order = models.CharField(max_length=3, blank=True, help_text=_("DMY, MDY or YMD"))
    learned_from = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    times_used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "field_name"], name="vendor_hint_unique_field")
        ]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.field_name}"


class InvoiceException(models.Model):
    """A finding of a validation check that a clerk works (resolve or dismiss with a reason)."""

    class Kind(models.TextChoices):
        ARITHMETIC = "arithmetic", _("Arithmetic")
        DUPLICATE = "duplicate", _("Duplicate")
        BANK_DETAILS = "bank_details", _("Bank details")
        INVALID_ID = "invalid_id", _("Invalid IBAN or tax ID")
        AMOUNT_PATTERN = "amount_pattern", _("Unusual amount")
        PO_MISMATCH = "po_mismatch", _("PO mismatch")
        DATES = "dates", _("Dates")
        CURRENCY = "currency", _("Unusual currency")
        MISSING_FIELD = "missing_field", _("Missing field")
        UNKNOWN_VENDOR = "unknown_vendor", _("Unknown vendor")
        EXTRACTION = "extraction", _("Extraction")
        LLM_REVIEW = "llm_review", _("LLM review")

    class Severity(models.TextChoices):
        BLOCKING = "blocking", _("Blocking")
        WARNING = "warning", _("Warning")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")
        DISMISSED = "dismissed", _("Dismissed")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="exceptions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Identifies the finding within its kind so re-running a check never duplicates it
    # (e.g. "net+tax" for arithmetic, the other invoice's id for duplicates).
    key = models.CharField(max_length=100, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    message = models.TextField()
    params = models.JSONField(default=dict, blank=True)
    related_invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["invoice", "-severity", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "kind", "key"],
                condition=Q(status="open"),
                name="exception_one_open_per_key",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(resolved_at__isnull=False),
                name="exception_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(resolution_note=""),
                name="exception_dismissal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind", "created_at"]),
            # The exception queue without a kind filter: open ones, oldest first.
            models.Index(fields=["status", "created_at"], name="exception_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


class InvoiceEvent(models.Model):
    """The invoice's business timeline: append-only, written in the same transaction as the change."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        STATE = "state", _("State change")
        EXTRACTED = "extracted", _("Extracted")
        FIELD_EDIT = "field_edit", _("Field edited")
        EXCEPTION = "exception", _("Exception")
        APPROVAL = "approval", _("Approval")
        POSTING = "posting", _("ERP posting")
        PAYMENT = "payment", _("Payment")
        NOTE = "note", _("Note")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(
        max_length=64, blank=True, help_text=_("Who acted when no user did: task name, channel")
    )
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["invoice", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor__isnull=False) | ~Q(source=""), name="event_has_actor_or_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class LoginFailure(models.Model):
    """A failed login, kept to throttle guessing (per username and per client address)."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.username} {self.at:%Y-%m-%d %H:%M}"


# Field-level history (django-auditlog) beside the business timeline (InvoiceEvent).
from auditlog.registry import auditlog  # noqa: E402

auditlog.register(Vendor)
auditlog.register(VendorBankAccount)
auditlog.register(Document, exclude_fields=["password_ciphertext"])
auditlog.register(Invoice, exclude_fields=["updated_at", "state_changed_at"])
auditlog.register(InvoiceLine)
auditlog.register(InvoiceTax)
auditlog.register(InvoiceException)
auditlog.register(PurchaseOrder, exclude_fields=["updated_at"])
auditlog.register(PurchaseOrderLine)
auditlog.register(GoodsReceipt)
auditlog.register(MatchTolerance)
auditlog.register(VendorFieldHint, exclude_fields=["updated_at", "times_used"])
