"""The default "ERP": one JSON document and one CSV file per posted invoice in a folder.

Layout under ``settings.AP_ERP_EXPORT_DIR`` (or the ``directory`` given)::

    <name>.csv    header + one row: the invoice for a spreadsheet or an ERP's CSV import
    <name>.json   the whole payload (lines included); its existence means "posted"

``<name>`` is the idempotency key when it is a safe file name, else its SHA-256.

Guarantees:
- Atomic: each file is written to a temporary name in the same folder, fsynced, then moved into
  place. A reader never sees half a file.
- Exactly once per key: the JSON is linked into place with ``os.link``, which fails if the name
  exists, so of two concurrent posts (threads or processes) exactly one creates it and the other
  gets ``already_existed=True``. The CSV is written first (``os.replace``, idempotent), so a crash
  between the two leaves no JSON and the retry rewrites the same CSV.
- CSV cells holding text are safe from formula injection: a cell starting with ``= + - @``, tab or
  CR is prefixed with ``'``. Amounts are written by us from Decimal and left as numbers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from erp_integration.backends.base import (
    ErpBackend,
    ErpError,
    ErpErrorCode,
    ErpInvoice,
    ErpPostResult,
)

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "idempotency_key", "vendor_name", "vendor_tax_id", "vendor_iban", "invoice_number",
    "issue_date", "due_date", "currency", "net_amount", "tax_amount", "total_amount",
    "po_number", "is_credit_note", "description",
)
AMOUNT_COLUMNS = {"net_amount", "tax_amount", "total_amount"}


def csv_safe(value: str) -> str:
    """Neutralise a text cell that a spreadsheet would run as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # money stays a decimal string, never a float
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def file_stem(idempotency_key: str) -> str:
    if SAFE_NAME.fullmatch(idempotency_key) and ".." not in idempotency_key:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


class FileExportBackend(ErpBackend):
    """Writes posted invoices as files; see the module docstring for the guarantees."""

    name = "file"

    def __init__(self, *, directory: Path | str | None = None):
        if directory is None:
            from django.conf import settings

            directory = settings.AP_ERP_EXPORT_DIR
        if not directory:
            raise ErpError(ErpErrorCode.NOT_CONFIGURED, "AP_ERP_EXPORT_DIR is not set")
        self.directory = Path(directory)

    def _paths(self, payload: ErpInvoice) -> tuple[Path, Path]:
        stem = file_stem(payload.idempotency_key)
        return self.directory / f"{stem}.json", self.directory / f"{stem}.csv"

    def find_invoice(self, payload: ErpInvoice) -> ErpPostResult | None:
        json_path, _ = self._paths(payload)
        if not json_path.exists():
            return None
        try:
            stored = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ErpError(ErpErrorCode.UNAVAILABLE, f"Cannot read {json_path}: {err}") from err
        return ErpPostResult(
            erp_id=json_path.stem, erp_number=stored.get("invoice_number", ""),
            already_existed=True,
        )

    def post_invoice(self, payload: ErpInvoice) -> ErpPostResult:
        """Write the CSV, then claim the key by linking the JSON into place (exactly once)."""
        existing = self.find_invoice(payload)
        if existing is not None:
            return existing
        json_path, csv_path = self._paths(payload)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._write_atomic(csv_path, self._csv_text(payload), replace=True)
            document = {**asdict(payload), "exported_by": "ap-workbench"}
            text = json.dumps(document, default=_json_default, indent=2, ensure_ascii=False)
            created = self._write_atomic(json_path, text + "\n", replace=False)
        except OSError as err:
            raise ErpError(
                ErpErrorCode.UNAVAILABLE, f"Cannot write to {self.directory}: {err}"
            ) from err
        return ErpPostResult(
            erp_id=json_path.stem, erp_number=payload.invoice_number, already_existed=not created
        )

    @staticmethod
    def _csv_text(payload: ErpInvoice) -> str:
        row = {
            "idempotency_key": payload.idempotency_key,
            "vendor_name": payload.vendor.name,
            "vendor_tax_id": payload.vendor.tax_id,
            "vendor_iban": payload.vendor.iban,
            "invoice_number": payload.invoice_number,
            "issue_date": payload.issue_date.isoformat(),
            "due_date": payload.due_date.isoformat() if payload.due_date else "",
            "currency": payload.currency,
            "net_amount": str(payload.net_amount),
            "tax_amount": str(payload.tax_amount),
            "total_amount": str(payload.total_amount),
            "po_number": payload.po_number,
            "is_credit_note": "1" if payload.is_credit_note else "0",
            "description": payload.description,
        }
        safe = {k: v if k in AMOUNT_COLUMNS else csv_safe(v) for k, v in row.items()}
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerow(safe)
        return buffer.getvalue()

    def _write_atomic(self, path: Path, text: str, *, replace: bool) -> bool:
        """Write ``text`` to ``path`` atomically. Returns False if ``replace`` is off and it exists."""
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                os.replace(tmp, path)
                return True
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
