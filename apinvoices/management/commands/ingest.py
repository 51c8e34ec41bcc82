from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apinvoices.ingestion.service import describe_result, document_ingest
from apinvoices.models import Channel


class Command(BaseCommand):
    help = "Ingest files and folders (recursively). One line per file: accepted/duplicate/refused."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")

    def handle(self, *args, paths, **options):
        counts = {"accepted": 0, "duplicate": 0, "refused": 0}
        for raw in paths:
            path = Path(raw)
            if not path.exists():
                raise CommandError(f"{path}: no such file or folder")
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                with file.open("rb") as fh:
                    result = document_ingest(
                        data=fh, filename=file.name, channel=Channel.CLI, source_ref=str(file)[:255]
                    )
                counts[result.outcome] += 1
                self.stdout.write(describe_result(result, label=str(file)))
        self.stderr.write(", ".join(f"{n} {k}" for k, n in counts.items()))
