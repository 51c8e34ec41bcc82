"""Admin for the ERP outbox and payments: read-only records; state moves only via services."""

from __future__ import annotations

from django.contrib import admin

from apinvoices.admin_base import ReadOnlyModelAdmin, ReadOnlyTabularInline
from erp_integration.models import ErpPosting, ErpPostingAttempt, Payment, PaymentRun


class ErpPostingAttemptInline(ReadOnlyTabularInline):
    model = ErpPostingAttempt
    fields = ("number", "started_at", "finished_at", "outcome", "error_code", "error_message",
              "retry_at", "erp_id", "erp_number")


@admin.register(ErpPosting)
class ErpPostingAdmin(ReadOnlyModelAdmin):
    inlines = [ErpPostingAttemptInline]
    list_display = ("idempotency_key", "invoice", "backend", "state", "attempts", "erp_number",
                    "last_error_code", "created_at", "posted_at")
    list_filter = ("state", "backend", "last_error_code")
    search_fields = ("idempotency_key", "erp_id", "erp_number", "invoice__invoice_number")
    list_select_related = ("invoice", "created_by")
    date_hierarchy = "created_at"


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ("invoice", "bank_account", "amount", "discount_amount", "currency", "state",
              "end_to_end_id", "paid_at")


@admin.register(PaymentRun)
class PaymentRunAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "state", "currency", "due_until", "execution_date", "file_format",
                    "created_by", "approved_by", "exported_at")
    list_filter = ("state", "file_format", "currency")
    search_fields = ("name", "debtor_account")
    list_select_related = ("created_by", "approved_by")
    date_hierarchy = "created_at"
    inlines = [PaymentInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin):
    list_display = ("end_to_end_id", "run", "invoice", "amount", "discount_amount", "currency", "state",
                    "paid_at")
    list_filter = ("state", "currency")
    search_fields = ("end_to_end_id", "invoice__invoice_number", "run__name")
    list_select_related = ("run", "invoice")
    date_hierarchy = "paid_at"
