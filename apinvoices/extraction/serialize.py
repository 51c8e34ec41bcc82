"""JSON-safe form of an ``ExtractedInvoice`` (the ``extract`` command, APIs, fixtures).

Money and quantities become decimal strings (never floats), dates ISO 8601, identifiers their
compact upper-case form; absent fields are omitted rather than null.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from apinvoices.extraction.identifiers import compact_iban, compact_tax_id
from apinvoices.extraction.types import FIELD_NAMES, ExtractedInvoice, FieldValue

# The header fields of the public JSON contract, in display order.
PUBLIC_FIELDS: tuple[str, ...] = (
    "vendor_name",
    "vendor_tax_id",
    "vendor_iban",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "net_amount",
    "tax_amount",
    "total_amount",
    "po_number",
)
OTHER_FIELDS: tuple[str, ...] = tuple(name for name in FIELD_NAMES if name not in PUBLIC_FIELDS)


def json_value(name: str, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if name in ("vendor_iban", "vendor_bic"):
        return compact_iban(str(value))
    if name == "vendor_tax_id":
        return compact_tax_id(str(value))
    return str(value)


def field_to_dict(name: str, fv: FieldValue) -> dict:
    out: dict = {
        "value": json_value(name, fv.value),
        "confidence": round(float(fv.confidence), 3),
        "source": fv.source,
    }
    if fv.page is not None:
        out["page"] = fv.page
    if fv.bbox is not None:
        out["bbox"] = fv.bbox.as_list()
    return out


def invoice_to_dict(result: ExtractedInvoice, *, file: str = "") -> dict:
    """One JSON object per document: ``file``, ``kind``, ``fields`` (the public header fields
    present), ``other_fields`` (the rest of FIELD_NAMES present), ``lines``, ``taxes``,
    ``errors``, ``warnings``."""
    fields = {
        name: field_to_dict(name, result.fields[name])
        for name in PUBLIC_FIELDS
        if name in result.fields and result.fields[name].value not in (None, "")
    }
    other = {
        name: field_to_dict(name, result.fields[name])
        for name in OTHER_FIELDS
        if name in result.fields and result.fields[name].value not in (None, "")
    }
    lines = []
    for line in result.lines:
        item = {"description": line.description}
        for key in ("quantity", "unit_price", "amount", "tax_rate"):
            value = getattr(line, key)
            if value is not None:
                item[key] = json_value(key, value)
        lines.append(item)
    return {
        "file": file,
        "kind": result.kind,
        "fields": fields,
        "other_fields": other,
        "lines": lines,
        "taxes": [
            {
                "rate": json_value("rate", t.rate),
                "base": json_value("base", t.base),
                "amount": json_value("amount", t.amount),
                "category": t.category,
            }
            for t in result.taxes
        ],
        "errors": list(result.errors),
        "warnings": list(result.warnings),
    }


def failure_to_dict(*, file: str, message: str, code: str = "") -> dict:
    """The line for a document that could not be read at all."""
    return {
        "file": file,
        "kind": None,
        "fields": {},
        "lines": [],
        "errors": [message],
        "code": code,
    }
