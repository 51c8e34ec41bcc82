from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apinvoices.ingestion.dropfolder import scan_dropfolder
from apinvoices.ingestion.service import describe_result


class Command(BaseCommand):
    help = "Scan the drop folder once. One line per file picked up (or still settling)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=None, help="default: AP_DROP_FOLDER")
        parser.add_argument("--stable-seconds", type=int, default=None)

    def handle(self, *args, path, stable_seconds, **options):
        path = path or settings.AP_DROP_FOLDER
        if not path:
            raise CommandError("no folder given and AP_DROP_FOLDER is not set")
        report = scan_dropfolder(path, stable_seconds=stable_seconds)
        if report.busy:
            self.stdout.write("busy: another scan holds the folder")
            return
        for rel, result, moved in report.picked_up:
            self.stdout.write(f"{describe_result(result, label=rel)} [moved to {moved}]")
        for rel in report.waiting:
            self.stdout.write(f"waiting {rel}: not stable yet")
        for rel, error in report.errors:
            self.stdout.write(f"error {rel}: {error} (left in place)")
