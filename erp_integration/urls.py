from django.urls import path

from erp_integration import views

app_name = "erp_integration"

urlpatterns = [
    path("postings/", views.posting_list, name="posting_list"),
    path("postings/<int:pk>/retry/", views.posting_retry, name="posting_retry"),
    path("sync/", views.erp_sync, name="erp_sync"),
]
