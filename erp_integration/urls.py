from django.urls import path

from erp_integration import views

app_name = "erp_integration"

urlpatterns = [
    path("postings/", views.posting_list, name="posting_list"),
    path("postings/<int:pk>/", views.posting_detail, name="posting_detail"),
    path("postings/<int:pk>/retry/", views.posting_retry, name="posting_retry"),
    path("sync/", views.erp_sync, name="erp_sync"),
]

urlpatterns += [
    path("payment-runs/", views.payment_run_list, name="payment_run_list"),
    path("payment-runs/new/", views.payment_run_create, name="payment_run_create"),
    path("payment-runs/<int:pk>/", views.payment_run_detail, name="payment_run_detail"),
    path("payment-runs/<int:pk>/approve/", views.payment_run_approve, name="payment_run_approve"),
    path("payment-runs/<int:pk>/file/", views.payment_run_download, name="payment_run_download"),
    path("payments/<int:pk>/remove/", views.payment_remove, name="payment_remove"),
    path("bank-statements/", views.camt054_upload, name="camt054_upload"),
]
