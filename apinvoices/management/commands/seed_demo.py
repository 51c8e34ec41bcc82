"""Load the demo data once (safe to run again)."""

from django.core.management.base import BaseCommand

from apinvoices.seed import demo_users_ensure


class Command(BaseCommand):
    help = "Create demo users, vendors, purchase orders and invoices (idempotent)."

    def handle(self, *args, **options):
        users = demo_users_ensure()
        self.stdout.write(self.style.SUCCESS("Demo logins (local use only):"))
        for spec, created in users:
            mark = "created" if created else "exists"
            self.stdout.write(f"  {spec.role.value:<10} {spec.username:<10} {spec.password:<22} ({mark})")
