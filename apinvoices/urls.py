from django.urls import path

from apinvoices import views, views_reports
from apinvoices.ingestion import views as ingestion_views

app_name = "apinvoices"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/extract/", views.invoice_extract_again, name="invoice_extract_again"),
    path("documents/<int:pk>/original/", views.document_original, name="document_original"),
    path("upload/", ingestion_views.upload, name="upload"),
    path("invoices/<int:pk>/password/", ingestion_views.invoice_password, name="invoice_password"),
    path("dashboard/", views_reports.dashboard, name="dashboard"),
    path("export/inbox.csv", views_reports.export_inbox_csv, name="export_inbox_csv"),
    path("export/exceptions.csv", views_reports.export_exceptions_csv, name="export_exceptions_csv"),
    path("audit/", views_reports.audit, name="audit"),
    path("audit/invoices/<int:pk>/", views_reports.invoice_history_page, name="invoice_history"),
    path("audit/invoices/<int:pk>/history.csv", views_reports.invoice_history_csv,
         name="invoice_history_csv"),
]

from apinvoices import review_views  # noqa: E402

urlpatterns += [
    path("documents/<int:pk>/pages/<int:page>.png", review_views.document_page, name="document_page"),
    path("documents/<int:pk>/pages/<int:page>/words.json", review_views.document_page_words_view,
         name="document_page_words"),
    path("invoices/<int:pk>/fields/<str:name>/", review_views.invoice_field_edit, name="invoice_field_edit"),
    path("invoices/<int:pk>/fields/<str:name>/pick/", review_views.invoice_field_pick, name="invoice_field_pick"),
    path("invoices/<int:pk>/lines/", review_views.invoice_line_add_view, name="invoice_line_add"),
    path("invoices/<int:pk>/lines/<int:line_pk>/", review_views.invoice_line_edit_view, name="invoice_line_edit"),
    path("invoices/<int:pk>/lines/<int:line_pk>/delete/", review_views.invoice_line_delete_view,
         name="invoice_line_delete"),
    path("invoices/<int:pk>/taxes/", review_views.invoice_tax_add_view, name="invoice_tax_add"),
    path("invoices/<int:pk>/taxes/<int:tax_pk>/", review_views.invoice_tax_edit_view, name="invoice_tax_edit"),
    path("invoices/<int:pk>/taxes/<int:tax_pk>/delete/", review_views.invoice_tax_delete_view,
         name="invoice_tax_delete"),
    path("invoices/<int:pk>/exceptions/", review_views.invoice_exceptions_panel, name="invoice_exceptions"),
    path("invoices/<int:pk>/send/", review_views.invoice_send, name="invoice_send"),
    path("invoices/<int:pk>/duplicate/", review_views.invoice_duplicate, name="invoice_duplicate"),
    path("invoices/<int:pk>/next/", review_views.invoice_next, name="invoice_next"),
    path("exceptions/", review_views.exception_list, name="exception_list"),
    path("exceptions/dismiss/", review_views.exception_bulk_dismiss, name="exception_bulk_dismiss"),
    path("exceptions/<int:pk>/resolve/", review_views.exception_resolve, name="exception_resolve"),
    path("exceptions/<int:pk>/dismiss/", review_views.exception_dismiss, name="exception_dismiss"),
    path("vendors/", review_views.vendor_list, name="vendor_list"),
    path("vendors/<int:pk>/", review_views.vendor_detail, name="vendor_detail"),
    path("bank-accounts/<int:pk>/verify/", review_views.bank_account_verify_view, name="bank_account_verify"),
    path("bank-accounts/<int:pk>/reject/", review_views.bank_account_reject_view, name="bank_account_reject"),
]
