from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apinvoices.forms import ThrottledAuthenticationForm

admin.site.site_header = "AP Workbench administration"
admin.site.site_title = "AP Workbench admin"
admin.site.index_title = "Master data, rules and records"
admin.site.enable_nav_sidebar = False  # the app list on the index is enough; keep the width for tables

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("approvals/", include("approvals.urls")),
    path("erp/", include("erp_integration.urls")),
    path("", include("apinvoices.urls")),
]
