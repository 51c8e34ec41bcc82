"""Load the demo data once (safe to run again)."""

from django.core.management.base import BaseCommand

from apinvoices.seed import demo_invoices_ensure, demo_users_ensure


class Command(BaseCommand):
    help = "Create demo users, vendors, purchase orders and invoices (idempotent)."

    def handle(self, *args, **options):
        users = demo_users_ensure()
        self.stdout.write("Loading demo invoices (rendered, ingested and extracted for real) ...")
        added = demo_invoices_ensure(log=self.stdout.write)
        if not added:
            self.stdout.write("Demo invoices were loaded before; nothing to add.")
        self.stdout.write(self.style.SUCCESS("Demo logins (local use only):"))
        for spec, created in users:
            mark = "created" if created else "exists"
            self.stdout.write(f"  {spec.role.value:<10} {spec.username:<10} {spec.password:<22} ({mark})")
