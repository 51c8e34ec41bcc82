from django.core.management.base import BaseCommand

from apinvoices.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update the recurring background schedules (idempotent)."

    def handle(self, *args, **options):
        for name in ensure_schedules():
            self.stdout.write(f"schedule {name}: ok")
