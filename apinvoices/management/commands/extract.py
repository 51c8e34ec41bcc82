"""``python manage.py extract FILE... [--json] [--force KIND] [--llm]``

Runs the extraction pipeline on files and prints what it found. Writes nothing to the database.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apinvoices.extraction.errors import ExtractionError
from apinvoices.extraction.pipeline import FORCE_CHOICES, extract_document
from apinvoices.extraction.serialize import PUBLIC_FIELDS, failure_to_dict, invoice_to_dict


class Command(BaseCommand):
    help = (
        "Extract invoice fields from PDF, image or e-invoice XML files and print them "
        "(one JSON object per file and line with --json). Nothing is stored. "
        "Exit code 1 when any file could not be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        parser.add_argument("--force", choices=FORCE_CHOICES, help="use only this extraction path")
        parser.add_argument("--password", default=None, help="password of encrypted PDFs")
        parser.add_argument("--llm", action="store_true", help="let the configured LLM fill gaps")

    def handle(self, *args, files, json: bool, force, password, llm, **options):
        failed = 0
        for name in files:
            record = self._extract_one(name, force=force, password=password, use_llm=llm)
            if record.get("kind") is None:
                failed += 1
            if json:
                self.stdout.write(_dumps(record))
            else:
                self._write_table(record)
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) could not be read.", returncode=1)

    def _extract_one(self, name: str, *, force, password, use_llm) -> dict:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as err:
            return failure_to_dict(file=name, message=f"cannot read file: {err.strerror or err}")
        try:
            result = extract_document(
                data, filename=path.name, password=password, force=force, use_llm=use_llm
            )
        except ExtractionError as err:
            return failure_to_dict(file=name, message=err.message, code=str(err.code))
        return invoice_to_dict(result, file=name)

    def _write_table(self, record: dict) -> None:
        self.stdout.write(
            self.style.MIGRATE_HEADING(f"{record['file']}  [{record['kind'] or 'failed'}]")
        )
        fields = {**record["fields"], **record.get("other_fields", {})}
        width = max((len(n) for n in fields), default=10)
        order = [n for n in PUBLIC_FIELDS if n in fields] + [
            n for n in fields if n not in PUBLIC_FIELDS
        ]
        for name in order:
            fv = fields[name]
            where = f" p{fv['page']}" if "page" in fv else ""
            self.stdout.write(
                f"  {name:<{width}}  {fv['value']:<40}  {fv['confidence']:.2f}  {fv['source']}{where}"
            )
        for line in record["lines"]:
            self.stdout.write(
                "  - {description}  qty {q}  price {p}  amount {a}".format(
                    description=line["description"][:50],
                    q=line.get("quantity", "-"),
                    p=line.get("unit_price", "-"),
                    a=line.get("amount", "-"),
                )
            )
        for message in record["errors"]:
            self.stdout.write(self.style.ERROR(f"  error: {message}"))
        for message in record.get("warnings", []):
            self.stdout.write(self.style.WARNING(f"  note: {message}"))


def _dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=False)
