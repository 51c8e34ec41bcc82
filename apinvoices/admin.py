"""Django admin for the AP domain: master data editable, system-written data read-only.

``state`` fields change only through services (``apinvoices.states``), so they are read-only
everywhere here; so are originals, extractions and the timeline.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apinvoices.admin_base import ReadOnlyModelAdmin, ReadOnlyTabularInline
from apinvoices.models import (
    Document,
    DocumentReceipt,
    ExtractedField,
    Extraction,
    GoodsReceipt,
    InboundMail,
    Invoice,
    InvoiceEvent,
    InvoiceException,
    InvoiceLine,
    InvoiceTax,
    LoginFailure,
    MatchTolerance,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
    VendorBankAccount,
    VendorFieldHint,
)

# --- Vendors ---------------------------------------------------------------------------------


class VendorBankAccountInline(admin.TabularInline):
    model = VendorBankAccount
    extra = 0
    fields = ("iban", "bic", "account_number", "routing_number", "holder_name", "currency", "status",
              "entered_by", "verified_by", "verified_at", "source")
    # Verification is four-eyes and goes through the vendor page's service, never through admin.
    readonly_fields = ("status", "entered_by", "verified_by", "verified_at")
    show_change_link = True


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ("name", "tax_id", "country", "default_currency", "category", "owner",
                    "payment_terms_days", "is_active")
    list_filter = ("is_active", "country", "default_currency", "category")
    search_fields = ("name", "tax_id", "email", "erp_id")
    list_select_related = ("owner",)
    inlines = [VendorBankAccountInline]
    date_hierarchy = "created_at"

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in instances:
            if isinstance(obj, VendorBankAccount) and obj.pk is None and obj.entered_by_id is None:
                obj.entered_by = request.user
                obj.source = obj.source or "admin"
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(VendorBankAccount)
class VendorBankAccountAdmin(admin.ModelAdmin):
    list_display = ("__str__", "vendor", "holder_name", "currency", "status", "entered_by",
                    "verified_by", "verified_at")
    list_filter = ("status", "currency")
    search_fields = ("iban", "account_number", "holder_name", "vendor__name")
    list_select_related = ("vendor", "entered_by", "verified_by")
    autocomplete_fields = ("vendor",)
    readonly_fields = ("status", "entered_by", "verified_by", "verified_at", "verification_method")
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        if obj.pk is None and obj.entered_by_id is None:
            obj.entered_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(VendorFieldHint)
class VendorFieldHintAdmin(admin.ModelAdmin):
    list_display = ("vendor", "field_name", "label", "number_format", "date_order", "times_used",
                    "created_by", "updated_at")
    list_filter = ("field_name", "date_order")
    search_fields = ("vendor__name", "field_name", "label")
    list_select_related = ("vendor", "created_by")
    autocomplete_fields = ("vendor",)
    raw_id_fields = ("learned_from",)
    readonly_fields = ("times_used", "created_by")


# --- Originals -------------------------------------------------------------------------------


class DocumentReceiptInline(ReadOnlyTabularInline):
    model = DocumentReceipt
    fields = ("received_at", "channel", "filename", "sender", "subject", "received_by", "is_duplicate")


@admin.register(Document)
class DocumentAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "kind", "content_type", "size", "page_count", "channel", "received_at",
                    "received_by", "is_encrypted")
    list_filter = ("kind", "channel", "is_encrypted")
    search_fields = ("sha256", "original_filename", "source_ref")
    list_select_related = ("received_by",)
    date_hierarchy = "received_at"
    exclude = ("password_ciphertext",)
    inlines = [DocumentReceiptInline]


@admin.register(DocumentReceipt)
class DocumentReceiptAdmin(ReadOnlyModelAdmin):
    list_display = ("received_at", "document", "channel", "filename", "sender", "received_by",
                    "is_duplicate")
    list_filter = ("channel", "is_duplicate")
    search_fields = ("filename", "sender", "subject", "message_id", "document__sha256")
    list_select_related = ("document", "received_by")
    date_hierarchy = "received_at"


@admin.register(InboundMail)
class InboundMailAdmin(ReadOnlyModelAdmin):
    list_display = ("received_at", "account", "folder", "uid", "sender", "subject", "status", "moved")
    list_filter = ("status", "moved", "account", "folder")
    search_fields = ("subject", "sender", "message_id")
    date_hierarchy = "received_at"


# --- Purchase orders -------------------------------------------------------------------------


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    fields = ("line_no", "sku", "description", "quantity", "unit_price")
    show_change_link = True  # receipts are edited on the line's own page


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ("number", "vendor", "order_date", "status", "total_amount", "currency", "requester")
    list_filter = ("status", "currency")
    search_fields = ("number", "vendor__name", "erp_id")
    list_select_related = ("vendor", "requester")
    autocomplete_fields = ("vendor",)
    date_hierarchy = "order_date"
    inlines = [PurchaseOrderLineInline]


class GoodsReceiptInline(admin.TabularInline):
    model = GoodsReceipt
    extra = 0
    fields = ("received_on", "quantity", "reference")


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(admin.ModelAdmin):
    list_display = ("__str__", "purchase_order", "sku", "description", "quantity", "unit_price")
    search_fields = ("purchase_order__number", "sku", "description")
    list_select_related = ("purchase_order",)
    autocomplete_fields = ("purchase_order",)
    inlines = [GoodsReceiptInline]


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(admin.ModelAdmin):
    list_display = ("received_on", "po_line", "quantity", "reference")
    search_fields = ("reference", "po_line__purchase_order__number")
    list_select_related = ("po_line__purchase_order",)
    raw_id_fields = ("po_line",)
    date_hierarchy = "received_on"


@admin.register(MatchTolerance)
class MatchToleranceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "vendor", "price_percent", "price_absolute", "quantity_percent")
    list_select_related = ("vendor",)
    autocomplete_fields = ("vendor",)
    search_fields = ("vendor__name",)


# --- Invoices --------------------------------------------------------------------------------


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ("position", "description", "quantity", "unit_price", "amount", "tax_rate", "gl_account",
              "cost_centre", "po_line")
    raw_id_fields = ("po_line",)


class InvoiceTaxInline(admin.TabularInline):
    model = InvoiceTax
    extra = 0
    fields = ("rate", "category", "base_amount", "tax_amount")


class ExtractedFieldInline(ReadOnlyTabularInline):
    model = ExtractedField
    fields = ("name", "value", "confidence", "source", "page", "label", "updated_by", "updated_at")
    show_change_link = False


class InvoiceExceptionInline(ReadOnlyTabularInline):
    model = InvoiceException
    fields = ("kind", "severity", "status", "message", "created_at", "resolved_by", "resolved_at")
    fk_name = "invoice"


class InvoiceEventInline(ReadOnlyTabularInline):
    model = InvoiceEvent
    fields = ("created_at", "kind", "actor", "source", "from_state", "to_state", "message")
    show_change_link = False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "vendor", "vendor_name", "issue_date", "due_date", "total_amount",
                    "currency", "state", "min_confidence", "created_at")
    list_filter = ("state", "document_type", "currency", "touched_by_human")
    search_fields = ("invoice_number", "invoice_number_normalized", "vendor_name", "vendor__name",
                     "po_number")
    list_select_related = ("vendor",)
    date_hierarchy = "created_at"
    autocomplete_fields = ("vendor", "purchase_order")
    readonly_fields = ("document", "state", "state_reason", "state_changed_at", "min_confidence",
                       "touched_by_human", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("document", "state", "state_reason", "state_changed_at", "document_type")}),
        (_("Vendor"), {"fields": ("vendor", "vendor_name", "vendor_tax_id", "vendor_iban", "vendor_bic")}),
        (_("Document"), {"fields": ("invoice_number", "invoice_number_normalized", "issue_date",
                                    "due_date", "payment_terms")}),
        (_("Amounts"), {"fields": ("currency", "net_amount", "tax_amount", "total_amount")}),
        (_("Purchase order and coding"), {"fields": ("po_number", "purchase_order", "cost_centre",
                                                     "gl_account")}),
        (_("System"), {"fields": ("min_confidence", "touched_by_human", "created_at", "updated_at")}),
    )
    inlines = [InvoiceLineInline, InvoiceTaxInline, ExtractedFieldInline, InvoiceExceptionInline,
               InvoiceEventInline]

    def has_add_permission(self, request):
        return False  # invoices come only from ingestion (upload, e-mail, folder)


@admin.register(InvoiceLine)
class InvoiceLineAdmin(admin.ModelAdmin):
    list_display = ("invoice", "position", "description", "quantity", "unit_price", "amount", "tax_rate")
    search_fields = ("invoice__invoice_number", "description")
    list_select_related = ("invoice",)
    raw_id_fields = ("invoice", "po_line")


@admin.register(InvoiceTax)
class InvoiceTaxAdmin(admin.ModelAdmin):
    list_display = ("invoice", "rate", "category", "base_amount", "tax_amount")
    list_filter = ("rate", "category")
    search_fields = ("invoice__invoice_number",)
    list_select_related = ("invoice",)
    raw_id_fields = ("invoice",)


@admin.register(Extraction)
class ExtractionAdmin(ReadOnlyModelAdmin):
    list_display = ("started_at", "document", "kind", "status", "duration_ms", "error_code")
    list_filter = ("status", "kind", "error_code")
    search_fields = ("document__sha256", "document__original_filename", "error_message")
    list_select_related = ("document",)
    date_hierarchy = "started_at"


@admin.register(ExtractedField)
class ExtractedFieldAdmin(ReadOnlyModelAdmin):
    list_display = ("invoice", "name", "value", "confidence", "source", "page", "updated_by", "updated_at")
    list_filter = ("source", "name")
    search_fields = ("invoice__invoice_number", "value", "label")
    list_select_related = ("invoice", "updated_by")


@admin.register(InvoiceException)
class InvoiceExceptionAdmin(ReadOnlyModelAdmin):
    list_display = ("invoice", "kind", "severity", "status", "message", "created_at", "resolved_by")
    list_filter = ("status", "severity", "kind")
    search_fields = ("invoice__invoice_number", "message", "key")
    list_select_related = ("invoice", "resolved_by")
    date_hierarchy = "created_at"


@admin.register(InvoiceEvent)
class InvoiceEventAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "invoice", "kind", "actor", "source", "from_state", "to_state", "message")
    list_filter = ("kind", "to_state")
    search_fields = ("invoice__invoice_number", "message", "source", "actor__username")
    list_select_related = ("invoice", "actor")
    date_hierarchy = "created_at"


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Read-only, but deletable: removing a user's rows lifts a throttle early."""

    list_display = ("at", "username", "ip_address")
    search_fields = ("username", "ip_address")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
