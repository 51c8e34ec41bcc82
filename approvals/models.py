"""Who approves which invoice: rules (data, edited in admin), steps, delegations, link tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apinvoices.models import Invoice, Vendor, amount_field, currency_field


class ApprovalRule(models.Model):
    """A routing rule. The active rule with the lowest priority number that matches wins;
    the default rule matches everything and is used when nothing else does."""

    class Flag(models.TextChoices):
        ANY = "any", _("Any")
        YES = "yes", _("Yes")
        NO = "no", _("No")

    name = models.CharField(max_length=200)
    priority = models.PositiveIntegerField(default=100, help_text=_("Lower numbers are tried first"))
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    currency = currency_field(blank=True, help_text=_("Empty: any currency"))
    min_amount = amount_field(null=True, blank=True, help_text=_("Total at least (in the currency)"))
    max_amount = amount_field(null=True, blank=True, help_text=_("Total below (in the currency)"))
    vendor = models.ForeignKey(Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    vendor_category = models.CharField(max_length=64, blank=True)
    cost_centre = models.CharField(max_length=32, blank=True)
    gl_account = models.CharField(max_length=32, blank=True)
    has_warnings = models.CharField(max_length=3, choices=Flag.choices, default=Flag.ANY)
    po_backed = models.CharField(max_length=3, choices=Flag.choices, default=Flag.ANY)
    escalation_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    allow_bulk_approval = models.BooleanField(
        default=False, help_text=_("Approvers may approve invoices of this rule in bulk")
    )
    notify_webhook_url = models.URLField(blank=True, help_text=_("Slack or Teams incoming webhook"))

    class Meta:
        ordering = ["is_default", "priority", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_rule"
            ),
            models.CheckConstraint(
                condition=Q(min_amount__isnull=True) | Q(max_amount__isnull=True) | Q(min_amount__lt=F("max_amount")),
                name="rule_amount_range",
            ),
            models.CheckConstraint(
                condition=(Q(min_amount__isnull=True) & Q(max_amount__isnull=True)) | ~Q(currency=""),
                name="rule_amount_needs_currency",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApprovalRuleStep(models.Model):
    """One level of a rule. Levels run in sequence; approvers within a level in parallel."""

    rule = models.ForeignKey(ApprovalRule, on_delete=models.CASCADE, related_name="steps")
    level = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(max_length=100, blank=True, help_text=_("e.g. Finance manager"))
    approver_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approver_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vendor_owner = models.BooleanField(default=False, help_text=_("The vendor's owner approves"))
    required_approvals = models.PositiveSmallIntegerField(
        default=1, help_text=_("For a group: how many of its members must approve")
    )

    class Meta:
        ordering = ["rule", "level", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(approver_user__isnull=False, approver_group__isnull=True, vendor_owner=False)
                    | Q(approver_user__isnull=True, approver_group__isnull=False, vendor_owner=False)
                    | Q(approver_user__isnull=True, approver_group__isnull=True, vendor_owner=True)
                ),
                name="rule_step_one_approver_kind",
            ),
            models.CheckConstraint(condition=Q(required_approvals__gte=1), name="rule_step_required_min"),
        ]

    def __str__(self) -> str:
        who = self.approver_user or self.approver_group or _("vendor owner")
        return f"{self.rule}: level {self.level} – {who}"


class ApprovalStep(models.Model):
    """One approver's decision on one invoice. ``state`` changes only through services."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for an earlier level")
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUPERSEDED = "superseded", _("Superseded")

    class Via(models.TextChoices):
        WEB = "web", _("Web")
        EMAIL = "email", _("E-mail link")
        BULK = "bulk", _("Bulk approval")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="approval_steps")
    rule = models.ForeignKey(ApprovalRule, null=True, on_delete=models.SET_NULL, related_name="+")
    rule_step = models.ForeignKey(ApprovalRuleStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    round = models.PositiveSmallIntegerField(default=1, help_text=_("Increases each time the invoice is re-routed"))
    level = models.PositiveSmallIntegerField(default=1)
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_steps")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("Set when the step was delegated"),
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_via = models.CharField(max_length=8, choices=Via.choices, blank=True)
    comment = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invoice", "round", "level", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "round", "level", "approver"], name="step_unique_approver_per_level"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["approved", "rejected"]) | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="step_decision_has_decider",
            ),
        ]
        indexes = [models.Index(fields=["approver", "state"])]

    def __str__(self) -> str:
        return f"{self.invoice} → {self.approver} ({self.state})"


class ApprovalToken(models.Model):
    """A single-use e-mail link. Only the SHA-256 of the random token id is stored."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")

    step = models.ForeignKey(ApprovalStep, on_delete=models.CASCADE, related_name="tokens")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="token_expires_after_creation"),
        ]

    def __str__(self) -> str:
        return f"{self.action} link for step {self.step_id}"


class Delegation(models.Model):
    """Out-of-office: steps for ``user`` between the dates go to ``delegate`` instead."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegated_to_me")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(condition=~Q(user=F("delegate")), name="delegation_not_self"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="delegation_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.delegate} ({self.starts_on}–{self.ends_on})"


from auditlog.registry import auditlog  # noqa: E402

auditlog.register(ApprovalRule)
auditlog.register(ApprovalRuleStep)
auditlog.register(ApprovalStep, exclude_fields=["reminded_at"])
auditlog.register(Delegation)
