"""Admin for approvals: routing rules (edited here, with their steps) and read-only history."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from apinvoices.admin_base import ReadOnlyModelAdmin, ReadOnlyTabularInline
from apinvoices.money import format_amount
from approvals.models import ApprovalRule, ApprovalRuleStep, ApprovalStep, ApprovalToken, Delegation


class ApprovalRuleStepInline(admin.TabularInline):
    model = ApprovalRuleStep
    extra = 1
    fields = ("level", "name", "approver_user", "approver_group", "vendor_owner", "required_approvals")
    # Plain selects, not autocomplete: AP admins hold no permission on auth's User and Group
    # admin, which the autocomplete endpoint requires.


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "is_active", "conditions", "approvers", "is_default")
    list_display_links = ("name",)
    list_editable = ("priority", "is_active")
    list_filter = ("is_active", "is_default", "currency", "has_warnings", "po_backed")
    search_fields = ("name", "vendor__name", "vendor_category", "cost_centre", "gl_account")
    list_select_related = ("vendor",)
    autocomplete_fields = ("vendor",)
    inlines = [ApprovalRuleStepInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", ("priority", "is_active", "is_default"))}),
        (_("When it matches (empty means any)"), {
            "fields": (("currency", "min_amount", "max_amount"), "vendor", "vendor_category",
                       ("cost_centre", "gl_account"), ("has_warnings", "po_backed")),
        }),
        (_("Escalation and notifications"), {
            "fields": ("escalation_user", "allow_bulk_approval", "notify_webhook_url"),
        }),
    )


    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            Prefetch("steps", queryset=ApprovalRuleStep.objects.select_related("approver_user", "approver_group"))
        )

    @admin.display(description=_("Matches"))
    def conditions(self, rule: ApprovalRule) -> str:
        parts = []
        if rule.min_amount is not None or rule.max_amount is not None:
            low = format_amount(rule.min_amount, rule.currency) if rule.min_amount is not None else ""
            high = format_amount(rule.max_amount, rule.currency) if rule.max_amount is not None else ""
            if low and high:
                parts.append(f"{rule.currency} {low} to below {high}")
            elif low:
                parts.append(f"{rule.currency} ≥ {low}")
            else:
                parts.append(f"{rule.currency} < {high}")
        elif rule.currency:
            parts.append(str(_("in %(currency)s") % {"currency": rule.currency}))
        if rule.vendor_id:
            parts.append(str(_("vendor %(name)s") % {"name": rule.vendor}))
        if rule.vendor_category:
            parts.append(str(_("vendor group %(group)s") % {"group": rule.vendor_category}))
        if rule.cost_centre:
            parts.append(str(_("cost centre %(cc)s") % {"cc": rule.cost_centre}))
        if rule.gl_account:
            parts.append(str(_("GL %(gl)s") % {"gl": rule.gl_account}))
        if rule.has_warnings != ApprovalRule.Flag.ANY:
            parts.append(str(_("with warnings")) if rule.has_warnings == "yes" else str(_("without warnings")))
        if rule.po_backed != ApprovalRule.Flag.ANY:
            parts.append(str(_("with PO")) if rule.po_backed == "yes" else str(_("without PO")))
        return "; ".join(parts) or str(_("every invoice"))

    @admin.display(description=_("Approvers (level: who)"))
    def approvers(self, rule: ApprovalRule) -> str:
        def who(step) -> str:
            if step.approver_user_id:
                return step.approver_user.get_full_name() or step.approver_user.get_username()
            if step.approver_group_id:
                if step.required_approvals > 1:
                    return f"{step.required_approvals} of {step.approver_group.name}"
                return str(_("any member of %(group)s") % {"group": step.approver_group.name})
            return str(_("vendor owner"))

        return " → ".join(f"{step.level}: {who(step)}" for step in rule.steps.all()) or "—"


@admin.register(ApprovalRuleStep)
class ApprovalRuleStepAdmin(admin.ModelAdmin):
    list_display = ("rule", "level", "name", "approver_user", "approver_group", "vendor_owner",
                    "required_approvals")
    list_filter = ("vendor_owner",)
    search_fields = ("rule__name", "name", "approver_user__username", "approver_group__name")
    list_select_related = ("rule", "approver_user", "approver_group")


class ApprovalTokenInline(ReadOnlyTabularInline):
    model = ApprovalToken
    fields = ("action", "approver", "created_at", "expires_at", "used_at")
    show_change_link = False


@admin.register(ApprovalStep)
class ApprovalStepAdmin(ReadOnlyModelAdmin):
    list_display = ("invoice", "round", "level", "approver", "on_behalf_of", "state", "decided_by",
                    "decided_at", "decided_via")
    list_filter = ("state", "decided_via")
    search_fields = ("invoice__invoice_number", "approver__username", "comment")
    list_select_related = ("invoice", "approver", "on_behalf_of", "decided_by")
    date_hierarchy = "created_at"
    exclude = ("user_agent",)
    inlines = [ApprovalTokenInline]


@admin.register(ApprovalToken)
class ApprovalTokenAdmin(ReadOnlyModelAdmin):
    list_display = ("step", "approver", "action", "created_at", "expires_at", "used_at")
    list_filter = ("action",)
    search_fields = ("approver__username", "step__invoice__invoice_number")
    list_select_related = ("step__invoice", "step__approver", "approver")
    exclude = ("token_hash",)
    date_hierarchy = "created_at"


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ("user", "delegate", "starts_on", "ends_on", "reason")
    search_fields = ("user__username", "delegate__username", "reason")
    list_select_related = ("user", "delegate")
    date_hierarchy = "starts_on"
