"""Plain values passed between extraction steps (never half-saved model instances)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

Source = Literal["xml", "text", "ocr", "llm", "clerk", "memory"]
Kind = Literal["ubl", "cii", "facturx", "pdf_text", "ocr"]

# The header fields every source tries to fill (names used in the DB, the CLI and the UI).
FIELD_NAMES: tuple[str, ...] = (
    "vendor_name",
    "vendor_tax_id",
    "vendor_iban",
    "vendor_bic",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "net_amount",
    "tax_amount",
    "total_amount",
    "po_number",
    "payment_terms",
    "document_type",  # "invoice" or "credit_note"
    "amount_due",  # what is still payable after prepayments (EN 16931 BT-115)
    "buyer_reference",  # BT-10, the Leitweg-ID in XRechnung
)


@dataclass(frozen=True)
class BBox:
    """A box on a page in PDF points from the top-left corner (x0, top, x1, bottom)."""

    x0: float
    top: float
    x1: float
    bottom: float

    def as_list(self) -> list[float]:
        return [round(self.x0, 1), round(self.top, 1), round(self.x1, 1), round(self.bottom, 1)]


@dataclass
class FieldValue:
    value: str | Decimal | date
    confidence: float
    source: Source
    page: int | None = None  # 1-based
    bbox: BBox | None = None
    label: str = ""  # the label text the value was found next to, if any


@dataclass
class ExtractedLine:
    description: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    tax_rate: Decimal | None = None


@dataclass
class TaxBreakdown:
    rate: Decimal
    base: Decimal
    amount: Decimal
    category: str = ""


@dataclass
class ExtractedInvoice:
    kind: Kind
    fields: dict[str, FieldValue] = field(default_factory=dict)
    lines: list[ExtractedLine] = field(default_factory=list)
    taxes: list[TaxBreakdown] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    page_count: int = 0
    text: str = ""  # the plain text the fields were read from (empty for XML)

    def value(self, name: str):
        fv = self.fields.get(name)
        return fv.value if fv else None
