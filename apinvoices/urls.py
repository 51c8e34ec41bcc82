from django.urls import path

from apinvoices import views
from apinvoices.ingestion import views as ingestion_views

app_name = "apinvoices"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("documents/<int:pk>/original/", views.document_original, name="document_original"),
    path("upload/", ingestion_views.upload, name="upload"),
    path("invoices/<int:pk>/password/", ingestion_views.invoice_password, name="invoice_password"),
]
