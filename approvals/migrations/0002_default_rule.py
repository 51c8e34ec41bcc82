"""A default routing rule always exists: any member of the Approver group approves."""

from django.db import migrations


def create_default_rule(apps, schema_editor):
    ApprovalRule = apps.get_model("approvals", "ApprovalRule")
    ApprovalRuleStep = apps.get_model("approvals", "ApprovalRuleStep")
    Group = apps.get_model("auth", "Group")
    if ApprovalRule.objects.filter(is_default=True).exists():
        return
    rule = ApprovalRule.objects.create(name="Default: one approver", priority=1000, is_default=True)
    ApprovalRuleStep.objects.create(
        rule=rule, level=1, name="Approver", approver_group=Group.objects.get(name="Approver")
    )


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial"), ("apinvoices", "0002_roles_and_defaults")]

    operations = [migrations.RunPython(create_default_rule, migrations.RunPython.noop)]
