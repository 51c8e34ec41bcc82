"""Vendor memory: a clerk's correction teaches where a vendor prints a field, and the next
invoice of that vendor is read with that knowledge (source "memory", confidence 0.95).

The unit remembered is the label printed before the value on its text line (e.g. "Ref. doc."),
plus the page and box when the clerk pointed at it, and the number/date format seen.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apinvoices.extraction.fields import infer_date_order, parse_amount, parse_date
from apinvoices.models import (
    ExtractedField,
    Extraction,
    FieldSource,
    Invoice,
    InvoiceEvent,
    VendorFieldHint,
)

MEMORY_CONFIDENCE = Decimal("0.950")
# How many words before the value make up its label, and how many words a value may span.
LABEL_WORDS = 3
VALUE_WORDS = 4
_AMOUNT_FIELDS = {"net_amount", "tax_amount", "total_amount"}
_DATE_FIELDS = {"issue_date", "due_date"}
# Fields worth remembering: those the text reader finds by label.
MEMORY_FIELDS = frozenset(
    {"invoice_number", "issue_date", "due_date", "net_amount", "tax_amount", "total_amount", "po_number"}
)


def _parse(name: str, raw: str, *, decimal_separator: str = "", date_order: str = ""):
    raw = raw.strip(" :#\t")
    if not raw:
        return None
    if name in _AMOUNT_FIELDS:
        return parse_amount(raw, decimal_separator or None)
    if name in _DATE_FIELDS:
        return parse_date(raw, order_hint=date_order or None)
    return raw.split()[0].strip(".,;")


def _same(name: str, parsed, value) -> bool:
    if parsed is None:
        return False
    if name in _AMOUNT_FIELDS:
        return Decimal(parsed) == Decimal(str(value))
    if name in _DATE_FIELDS:
        return parsed == value
    return str(parsed).upper() == str(value).upper()


def _find_labelled(name: str, value, text: str) -> tuple[str, str] | None:
    """(label, raw value text) for the first text line that carries ``value`` after a label."""
    for line in text.splitlines():
        words = line.split()
        for i in range(1, len(words)):
            for k in range(1, VALUE_WORDS + 1):
                raw = " ".join(words[i : i + k])
                if i + k > len(words):
                    break
                if _same(name, _parse(name, raw), value):
                    # The label is the words just before the value, up to one holding a digit
                    # (an order number or a date next to it changes from invoice to invoice).
                    label_words = []
                    for word in reversed(words[max(0, i - LABEL_WORDS) : i]):
                        if any(ch.isdigit() for ch in word):
                            break
                        label_words.insert(0, word)
                    label = " ".join(label_words).rstrip(":# ")
                    if label and re.search(r"[A-Za-z]", label):
                        return label, raw
    return None


def vendor_memory_learn(
    *,
    invoice: Invoice,
    name: str,
    value,
    actor,
    page: int | None = None,
    bbox: list | None = None,
    label: str = "",
    raw: str = "",
) -> VendorFieldHint | None:
    """Remember where ``invoice``'s vendor prints ``name``, from a clerk's corrected ``value``.

    Learns when the value is found after a label in the invoice's extracted text, or when the
    clerk pointed at a box (page + bbox; ``label`` is then the text printed before the word
    clicked and ``raw`` the text as printed). Returns the hint, or None when nothing was learned.
    """
    if name not in MEMORY_FIELDS or invoice.vendor_id is None:
        return None
    found = None
    if not (label and page and bbox):
        extraction = (
            Extraction.objects.filter(document_id=invoice.document_id, status=Extraction.Status.SUCCEEDED)
            .order_by("-started_at").only("text").first()
        )
        found = _find_labelled(name, value, extraction.text) if extraction and extraction.text else None
    if found is None and not (page and bbox):
        return None
    label, raw = found or (label, raw if page and bbox else "")
    defaults = {
        "label": label[:100],
        "page": page,
        "bbox": bbox,
        "learned_from": invoice,
        "created_by": actor,
        "number_format": "",
        "date_order": "",
    }
    if name in _AMOUNT_FIELDS and raw:
        # The separator nearest the end is the decimal one ("1.234,56" -> ",").
        separators = [c for c in raw if c in ",."]
        defaults["number_format"] = separators[-1] if separators else ""
    if name in _DATE_FIELDS and raw:
        defaults["date_order"] = infer_date_order(raw) or ""
    hint, _created = VendorFieldHint.objects.update_or_create(
        vendor_id=invoice.vendor_id, field_name=name, defaults=defaults
    )
    return hint


def _value_after_label(hint: VendorFieldHint, text: str):
    pattern = re.compile(re.escape(hint.label) + r"\s*[:#]?\s*(.+)", re.IGNORECASE)
    for line in text.splitlines():
        match = pattern.search(line)
        if not match:
            continue
        words = match.group(1).split()
        for k in range(min(VALUE_WORDS, len(words)), 0, -1):
            parsed = _parse(
                hint.field_name, " ".join(words[:k]),
                decimal_separator=hint.number_format, date_order=hint.date_order,
            )
            if parsed not in (None, ""):
                return parsed
    return None


# How far a remembered box may have moved on the vendor's next invoice (PDF points), and how
# much longer the value may be than the one the clerk clicked (a longer number, a bigger total).
POSITION_SLACK = 6.0
POSITION_GROW_RIGHT = 0.6


def _value_at_position(hint: VendorFieldHint, invoice: Invoice):
    """The value in the hint's box on the same page of ``invoice``'s original, or None."""
    from apinvoices.exceptions import ApplicationError
    from apinvoices.services.words import document_page_words, words_in_box

    try:
        words = document_page_words(document=invoice.document, page=hint.page)
    except ApplicationError:
        return None
    x0, top, x1, bottom = hint.bbox
    grown = [x0, top, x1 + (x1 - x0) * POSITION_GROW_RIGHT, bottom]
    inside = words_in_box(words, grown, slack=POSITION_SLACK)
    for k in range(min(VALUE_WORDS, len(inside)), 0, -1):
        parsed = _parse(hint.field_name, " ".join(w[0] for w in inside[:k]),
                        decimal_separator=hint.number_format, date_order=hint.date_order)
        if parsed not in (None, ""):
            return parsed
    return None


def invoice_apply_vendor_memory(*, invoice: Invoice, extraction: Extraction) -> list[str]:
    """Re-read the fields the vendor's hints cover from ``extraction``'s text, overriding the
    generic reading (never a clerk's value). Returns the field names set from memory.

    A hint with a label reads the value printed after that label; one without (or whose label
    is not on this invoice) but with a page box reads the words in that box of the original. An
    amount is only stored when the invoice has a currency.
    """
    from apinvoices.money import quantize_amount
    from apinvoices.services.invoices import _min_key_confidence, normalize_invoice_number

    if invoice.vendor_id is None or not extraction.text:
        return []
    hints = list(
        VendorFieldHint.objects.filter(vendor_id=invoice.vendor_id)
        .exclude(Q(label="") & (Q(page__isnull=True) | Q(bbox__isnull=True)))
    )
    if not hints:
        return []
    clerk_fields = set(invoice.fields.filter(source=FieldSource.CLERK).values_list("name", flat=True))
    applied = []
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        for hint in hints:
            if hint.field_name in clerk_fields:
                continue
            value = _value_after_label(hint, extraction.text) if hint.label else None
            if value is None and hint.page and hint.bbox:
                value = _value_at_position(hint, invoice)
            if value is None:
                continue
            if hint.field_name in _AMOUNT_FIELDS:
                if not invoice.currency:
                    continue
                value = quantize_amount(value, invoice.currency)
            setattr(invoice, hint.field_name, value)
            ExtractedField.objects.update_or_create(
                invoice=invoice, name=hint.field_name,
                defaults={
                    "extraction": extraction,
                    "value": value.isoformat() if isinstance(value, date) else str(value),
                    "confidence": MEMORY_CONFIDENCE,
                    "source": FieldSource.MEMORY,
                    "page": hint.page,
                    "bbox": hint.bbox,
                    "label": hint.label,
                    "updated_by": None,
                    "updated_at": timezone.now(),
                },
            )
            VendorFieldHint.objects.filter(pk=hint.pk).update(times_used=F("times_used") + 1)
            applied.append(hint.field_name)
        if applied:
            invoice.invoice_number_normalized = normalize_invoice_number(invoice.invoice_number)
            invoice.min_confidence = _min_key_confidence(invoice)
            invoice.save()
            InvoiceEvent.objects.create(
                invoice=invoice, kind=InvoiceEvent.Kind.EXTRACTED, source="vendor-memory",
                message=f"Read {', '.join(applied)} the way a clerk showed for this vendor.",
                params={"fields": applied},
            )
    return applied
