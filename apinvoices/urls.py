from django.urls import path

from apinvoices import views, views_reports
from apinvoices.ingestion import views as ingestion_views

app_name = "apinvoices"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
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
