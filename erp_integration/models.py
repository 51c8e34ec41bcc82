"""ERP outbox and payments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apinvoices.models import Invoice, VendorBankAccount, amount_field, currency_field


class ErpPosting(models.Model):
    """Outbox row: created with the last approval, sent by a task, exactly once per key."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        POSTED = "posted", _("Posted")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="erp_postings")
    backend = models.CharField(max_length=16)
    idempotency_key = models.CharField(max_length=50, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    erp_id = models.CharField(max_length=64, blank=True)
    erp_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("retry_posting", "Can retry ERP postings")]
        constraints = [
            # At most one live posting per invoice; cancelled ones stay for history.
            models.UniqueConstraint(
                fields=["invoice"], condition=~Q(state="cancelled"), name="one_live_posting_per_invoice"
            ),
            models.CheckConstraint(condition=~Q(state="posted") | ~Q(erp_id=""), name="posted_has_erp_id"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.state})"


class ErpPostingAttempt(models.Model):
    """One send of a posting to the ERP and how it ended: append-only, one row per attempt.

    Written in the same transaction that records the outcome on the posting, so the log and the
    posting's ``attempts`` counter agree. A worker killed mid-send leaves no row for that attempt
    (its outcome is unknown); the retry that follows writes its own.
    """

    class Outcome(models.TextChoices):
        POSTED = "posted", _("Posted")
        FOUND = "found", _("Found already in the ERP")
        FAILED = "failed", _("Failed")

    posting = models.ForeignKey(ErpPosting, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True, help_text=_("The ERP's own message"))
    retry_at = models.DateTimeField(null=True, blank=True, help_text=_("Automatic retry planned for"))
    erp_id = models.CharField(max_length=64, blank=True)
    erp_number = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["posting", "number", "pk"]
        indexes = [models.Index(fields=["posting", "number"])]

    def __str__(self) -> str:
        return f"{self.posting_id} #{self.number}: {self.outcome}"


class PaymentRun(models.Model):
    """A batch of payments proposed by one user and approved by a different one."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        EXPORTED = "exported", _("Exported")
        CANCELLED = "cancelled", _("Cancelled")

    class FileFormat(models.TextChoices):
        SEPA_09 = "pain.001.001.09", _("SEPA pain.001.001.09")
        SEPA_03 = "pain.001.001.03", _("SEPA pain.001.001.03")
        NACHA = "nacha", _("NACHA (US ACH)")

    name = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT, db_index=True)
    currency = currency_field()
    due_until = models.DateField(help_text=_("Invoices due up to this date"))
    execution_date = models.DateField(help_text=_("When the bank should pay"))
    file_format = models.CharField(max_length=16, choices=FileFormat.choices)
    debtor_account = models.CharField(max_length=34, help_text=_("Our IBAN or account number"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to="payment-files/", blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_paymentrun", "Can approve payment runs")]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
                name="payment_run_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Payment(models.Model):
    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        SCHEDULED = "scheduled", _("Scheduled")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    run = models.ForeignKey(PaymentRun, on_delete=models.CASCADE, related_name="payments")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    bank_account = models.ForeignKey(VendorBankAccount, on_delete=models.PROTECT, related_name="+")
    amount = amount_field()
    discount_amount = amount_field(default=0)
    currency = currency_field()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED, db_index=True)
    end_to_end_id = models.CharField(max_length=35, unique=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(discount_amount__gte=0), name="payment_discount_not_negative"),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(state__in=["proposed", "scheduled", "paid"]),
                name="one_live_payment_per_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.end_to_end_id}: {self.amount} {self.currency}"


from auditlog.registry import auditlog  # noqa: E402

auditlog.register(ErpPosting, exclude_fields=["updated_at"])
auditlog.register(PaymentRun)
auditlog.register(Payment)
