"""Create or update every app's recurring schedules (idempotent)."""

from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import module_has_submodule


class Command(BaseCommand):
    help = "Create or update the recurring background schedules of every app (idempotent)."

    def handle(self, *args, **options):
        # Each app that has periodic work exposes ``<app>.schedules.ensure_schedules``; finding
        # them through the app registry keeps apinvoices from importing the other apps.
        for config in apps.get_app_configs():
            if not module_has_submodule(config.module, "schedules"):
                continue
            import_module(f"{config.name}.schedules").ensure_schedules()
            self.stdout.write(f"schedules of {config.label}: ok")
