from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.my_approvals, name="my_approvals"),
    path("steps/<int:pk>/", views.step_detail, name="step"),
    path("steps/<int:pk>/decide/", views.step_decide, name="step_decide"),
    path("bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("delegation/", views.delegation, name="delegation"),
    path("email/<str:signed>/", views.email_link, name="email_link"),
]
