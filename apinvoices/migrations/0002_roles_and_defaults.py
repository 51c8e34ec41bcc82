"""Create the four role groups with their model permissions, and the default PO tolerance."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CLERK, APPROVER, ADMIN, AUDITOR = "AP clerk", "Approver", "AP admin", "Auditor"
APPS = ("apinvoices", "approvals", "erp_integration")


def _ensure_permissions(apps):
    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None


def create_roles(apps, schema_editor):
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label__in=APPS)
    view_only = ours.filter(codename__startswith="view_")

    admin, _ = Group.objects.get_or_create(name=ADMIN)
    admin.permissions.set(ours)  # AP admins edit rules, vendors and tolerances in Django admin
    auditor, _ = Group.objects.get_or_create(name=AUDITOR)
    auditor.permissions.set(view_only)
    clerk, _ = Group.objects.get_or_create(name=CLERK)
    clerk.permissions.set(view_only.filter(content_type__app_label="apinvoices"))
    Group.objects.get_or_create(name=APPROVER)

    MatchTolerance = apps.get_model("apinvoices", "MatchTolerance")
    if not MatchTolerance.objects.filter(vendor__isnull=True).exists():
        MatchTolerance.objects.create(vendor=None)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[CLERK, APPROVER, ADMIN, AUDITOR]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("apinvoices", "0001_initial"),
        ("approvals", "0001_initial"),
        ("erp_integration", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
