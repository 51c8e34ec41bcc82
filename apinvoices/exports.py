"""CSV exports that are safe to open in a spreadsheet.

Vendor names and invoice numbers come from documents that strangers send us. A cell that
starts with ``=``, ``+``, ``-``, ``@``, TAB or CR is a formula to Excel and LibreOffice
(CSV/formula injection), so such text cells are prefixed with ``'``. Numbers we write
ourselves (Decimal amounts, dates, ids) are never prefixed, so a credit note's ``-100.00``
stays a number.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str | Decimal | int:
    """One cell: ``None`` -> ``""``, dates as ISO, Decimal/int unchanged, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (Decimal, int)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """A streamed ``text/csv`` attachment; every cell goes through :func:`csv_cell`."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # BOM: Excel otherwise reads UTF-8 as the local code page
        yield writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            yield writer.writerow([csv_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
