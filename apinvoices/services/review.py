"""Review-screen use cases: a clerk edits a field, resolves or dismisses an exception.

Every function runs in one transaction, writes an ``InvoiceEvent`` and auditlog history
attributed to the actor, then re-evaluates the invoice so its exceptions and state are current.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from apinvoices.audit import audit_actor
from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.extraction.fields import parse_amount, parse_date
from apinvoices.extraction.identifiers import (
    is_valid_iban,
    normalize_bic,
    normalize_iban,
    normalize_tax_id,
)
from apinvoices.models import (
    ExtractedField,
    FieldSource,
    Invoice,
    InvoiceEvent,
    InvoiceException,
)
from apinvoices.money import is_known_currency, quantize_amount
from apinvoices.services.invoices import (
    AMOUNT_FIELDS,
    DATE_FIELDS,
    invoice_evaluate,
    normalize_invoice_number,
)
from apinvoices.states import invoice_transition

S = Invoice.State
# Fields a clerk may edit here: the extraction's fields plus the BIC.
REVIEW_FIELDS = (*Invoice.EDITABLE_FIELDS, "vendor_bic")
# An edit in these states changes what an approver saw: approval starts again.
REROUTE_STATES = (S.AWAITING_APPROVAL, S.APPROVED)
EDIT_STATES = (*Invoice.CLERK_WORK_STATES, *REROUTE_STATES)


def coerce_field_value(*, name: str, raw: str, currency: str):
    """Parse what a clerk typed into the field's type, or raise ``ApplicationError``.

    Amounts become Decimals quantized to ``currency``'s minor unit (``1.234,5`` and ``1234.50``
    both work); dates accept ISO and the usual written forms; IBANs must pass the checksum;
    tax IDs and BICs are normalised. Blank clears the field (None for amounts and dates).
    """
    raw = (raw or "").strip()
    if not raw:
        return None if name in AMOUNT_FIELDS | DATE_FIELDS else ""
    if name in AMOUNT_FIELDS:
        if not currency:
            raise ApplicationError("Set the currency before the amounts.")
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            amount = parse_amount(raw)
        if amount is None or not amount.is_finite():
            raise ApplicationError(f"“{raw}” is not an amount.")
        return quantize_amount(amount, currency)
    if name in DATE_FIELDS:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            parsed = parse_date(raw)
        if parsed is None:
            raise ApplicationError(f"“{raw}” is not a date (use YYYY-MM-DD).")
        return parsed
    if name == "currency":
        code = raw.upper()
        if not is_known_currency(code):
            raise ApplicationError(f"“{raw}” is not an ISO 4217 currency code.")
        return code
    if name == "vendor_iban":
        if not is_valid_iban(raw):
            raise ApplicationError(f"“{raw}” is not a valid IBAN (the check digits do not match).")
        return normalize_iban(raw)
    if name == "vendor_bic":
        bic = normalize_bic(raw)
        if not bic:
            raise ApplicationError(f"“{raw}” is not a BIC.")
        return bic
    if name == "vendor_tax_id":
        return normalize_tax_id(raw) or raw.upper().replace(" ", "")
    return raw[: Invoice._meta.get_field(name).max_length or 200]


def _as_text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def invoice_update_field(
    *,
    invoice: Invoice,
    name: str,
    value: str,
    actor,
    page: int | None = None,
    bbox: list[float] | None = None,
    label: str = "",
) -> Invoice:
    """Set one field to what a clerk typed, as the clerk's own value.

    Validates and coerces by type (see ``coerce_field_value``); writes ``ExtractedField``
    (source clerk, confidence 1, ``updated_by``), sets ``touched_by_human``, records an
    ``InvoiceEvent`` field_edit with old and new value, teaches vendor memory, then
    re-evaluates. An invoice awaiting approval or approved goes through approval again
    (``settings.AP_APPROVAL_REROUTE``). Raises ``ApplicationError`` and changes nothing when
    the value is invalid or the invoice is not editable in its state.
    """
    from apinvoices.services.memory import vendor_memory_learn

    if name not in REVIEW_FIELDS:
        raise ApplicationError(f"“{name}” cannot be edited.")
    with transaction.atomic(), audit_actor(actor):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.state not in EDIT_STATES:
            raise ApplicationError(
                f"An invoice in state “{invoice.get_state_display()}” cannot be edited."
            )
        currency = invoice.currency
        new = coerce_field_value(name=name, raw=value, currency=currency)
        old = getattr(invoice, name)
        if name in AMOUNT_FIELDS and old is not None and currency:
            old = quantize_amount(old, currency)  # the stored scale is wider than the currency's
        if name == "currency" and new == "" and any(getattr(invoice, f) is not None for f in AMOUNT_FIELDS):
            raise ApplicationError("Amounts need a currency; clear the amounts first.")
        if name == "currency" and new and new != old:
            # Amounts keep their value but take the new currency's minor unit.
            for amount_field in AMOUNT_FIELDS:
                amount = getattr(invoice, amount_field)
                if amount is not None:
                    setattr(invoice, amount_field, quantize_amount(amount, new))
        if new == old and invoice.fields.filter(name=name, source=FieldSource.CLERK).exists():
            return invoice
        setattr(invoice, name, new)
        if name == "invoice_number":
            invoice.invoice_number_normalized = normalize_invoice_number(new)
        invoice.touched_by_human = True
        invoice.save()
        ExtractedField.objects.update_or_create(
            invoice=invoice,
            name=name,
            defaults={
                "value": _as_text(new),
                "confidence": Decimal("1.000"),
                "source": FieldSource.CLERK,
                "updated_by": actor,
                "updated_at": timezone.now(),
                **({"page": page, "bbox": bbox} if page and bbox else {}),
                **({"label": label[:100]} if label else {}),
            },
        )
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.FIELD_EDIT,
            actor=actor,
            message=f"{name}: {_as_text(old) or '—'} → {_as_text(new) or '—'}",
            params={"field": name, "old": _as_text(old), "new": _as_text(new)},
        )
        if new not in (None, "") and invoice.vendor_id:
            vendor_memory_learn(invoice=invoice, name=name, value=new, actor=actor, page=page, bbox=bbox,
                                label=label, raw=value)
        if name == "vendor_iban" and new:
            from apinvoices.services.vendors import bank_account_propose_from_invoice

            bank_account_propose_from_invoice(invoice=invoice)
        if invoice.state in REROUTE_STATES:
            reroute = import_string(settings.AP_APPROVAL_REROUTE)
            return reroute(invoice, actor, reason=f"{name} edited after approval started.")
    return invoice_evaluate(invoice=invoice, actor=actor, source="review")


def _close(*, exception: InvoiceException, actor, status: str, note: str) -> Invoice:
    with transaction.atomic(), audit_actor(actor):
        exception = InvoiceException.objects.select_for_update().select_related("invoice").get(pk=exception.pk)
        if exception.status != InvoiceException.Status.OPEN:
            raise ApplicationError("This exception is closed already.")
        exception.status = status
        exception.resolved_by = actor
        exception.resolved_at = timezone.now()
        exception.resolution_note = note[:2000]
        exception.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note"])
        verb = "resolved" if status == InvoiceException.Status.RESOLVED else "dismissed"
        InvoiceEvent.objects.create(
            invoice=exception.invoice,
            kind=InvoiceEvent.Kind.EXCEPTION,
            actor=actor,
            message=f"{exception.get_kind_display()} {verb}" + (f": {note}" if note else "."),
            params={"exception_id": exception.pk, "kind": exception.kind, "status": status},
        )
    return invoice_evaluate(invoice=exception.invoice, actor=actor, source="review")


def invoice_exception_resolve(*, exception: InvoiceException, actor, note: str = "") -> Invoice:
    """Mark an open exception resolved (the clerk fixed its cause) and re-evaluate the invoice.

    A check that still finds the problem opens it again; resolving the last blocking exception
    moves the invoice on. Raises ``ApplicationError`` for a closed exception.
    """
    return _close(exception=exception, actor=actor, status=InvoiceException.Status.RESOLVED, note=note.strip())


def invoice_exception_dismiss(*, exception: InvoiceException, actor, reason: str) -> Invoice:
    """Dismiss an open exception as not a problem. ``reason`` is required and kept; the checks
    never reopen a dismissed finding. Raises ``ApplicationError`` without a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why this exception is not a problem.")
    return _close(exception=exception, actor=actor, status=InvoiceException.Status.DISMISSED, note=reason)


def invoice_mark_duplicate(*, invoice: Invoice, actor, of: Invoice | None = None) -> Invoice:
    """Confirm a duplicate finding: the invoice moves to ``duplicate`` and its open duplicate
    exceptions are resolved. Raises ``InvalidTransition`` when the state does not allow it."""
    with transaction.atomic(), audit_actor(actor):
        now = timezone.now()
        InvoiceException.objects.filter(
            invoice=invoice, kind=InvoiceException.Kind.DUPLICATE, status=InvoiceException.Status.OPEN
        ).update(status=InvoiceException.Status.RESOLVED, resolved_by=actor, resolved_at=now,
                 resolution_note="Confirmed duplicate.")
        return invoice_transition(
            invoice=invoice, to=S.DUPLICATE, actor=actor,
            reason=f"Duplicate of {of}." if of else "Marked as duplicate by a clerk.",
            params={"duplicate_of": of.pk} if of else {},
        )


def invoice_send_to_approval(*, invoice: Invoice, actor) -> Invoice:
    """A clerk sends a reviewed invoice to approval. Refused while blocking exceptions are open."""
    from apinvoices.services.invoices import invoice_submit_for_approval

    invoice.refresh_from_db()
    if invoice.state not in (S.NEEDS_REVIEW, S.EXCEPTION):
        raise ApplicationError(f"An invoice in state “{invoice.get_state_display()}” cannot be sent to approval.")
    blocking = invoice.exceptions.filter(
        status=InvoiceException.Status.OPEN, severity=InvoiceException.Severity.BLOCKING
    ).count()
    if blocking:
        raise ApplicationError(f"Resolve the {blocking} blocking exception(s) first.")
    return invoice_submit_for_approval(invoice=invoice, actor=actor, source="review")


# --- Lines and the tax breakdown ------------------------------------------------------------------

# Columns of a line a clerk edits, and of a tax row.
LINE_COLUMNS = ("description", "quantity", "unit_price", "amount")
TAX_COLUMNS = ("rate", "base_amount", "tax_amount")
_MAX_TAX_RATE = Decimal("100")


def parse_decimal(*, raw: str, what: str, places: int, max_digits: int = 18) -> Decimal | None:
    """A number as a clerk types it (``1234.5``, ``1.234,50``, ``1 234,5``, ``19 %``), rounded
    half-up to ``places`` decimals; None for blank. Raises ``ApplicationError`` for anything
    else or a number too large for its column."""
    from decimal import ROUND_HALF_UP

    raw = (raw or "").strip().rstrip("%").strip()
    if not raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        number = parse_amount(raw)
    if number is None or not number.is_finite():
        raise ApplicationError(f"“{raw}” is not a number ({what}).")
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if len(number.as_tuple().digits) > max_digits:
        raise ApplicationError(f"“{raw}” is too large ({what}).")
    return number


def _locked_editable(invoice: Invoice) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.state not in EDIT_STATES:
        raise ApplicationError(
            f"An invoice in state “{invoice.get_state_display()}” cannot be edited."
        )
    return invoice


def _line_values(*, invoice: Invoice, values: dict[str, str]) -> dict:
    from apinvoices.money import QUANTITY_DECIMAL_PLACES, UNIT_PRICE_DECIMAL_PLACES

    parsed: dict = {}
    if "description" in values:
        parsed["description"] = " ".join((values["description"] or "").split())[:500]
    if "quantity" in values:
        parsed["quantity"] = parse_decimal(raw=values["quantity"], what="quantity", places=QUANTITY_DECIMAL_PLACES)
    if "unit_price" in values:
        parsed["unit_price"] = parse_decimal(raw=values["unit_price"], what="unit price", places=UNIT_PRICE_DECIMAL_PLACES)
    if "amount" in values:
        raw = (values["amount"] or "").strip()
        if raw and not invoice.currency:
            raise ApplicationError("Set the currency before the amounts.")
        amount = parse_decimal(raw=raw, what="amount", places=6)
        parsed["amount"] = quantize_amount(amount, invoice.currency) if amount is not None else None
    return parsed


def _tax_values(*, invoice: Invoice, values: dict[str, str]) -> dict:
    if not invoice.currency:
        raise ApplicationError("Set the currency before the tax breakdown.")
    parsed: dict = {}
    if "rate" in values:
        rate = parse_decimal(raw=values["rate"], what="rate", places=3, max_digits=6)
        if rate is None or not Decimal(0) <= rate <= _MAX_TAX_RATE:
            raise ApplicationError("The tax rate is a percentage between 0 and 100.")
        parsed["rate"] = rate
    for column, what in (("base_amount", "base"), ("tax_amount", "tax")):
        if column in values:
            amount = parse_decimal(raw=values[column], what=what, places=6)
            parsed[column] = quantize_amount(amount, invoice.currency) if amount is not None else None
    return parsed


_MONEY_COLUMNS = frozenset({"amount", "base_amount", "tax_amount"})


def _text(value, column: str = "", currency: str = "") -> str:
    """A value for the timeline: amounts at the currency's minor unit, other numbers without
    trailing zeros ("2", "19.5"), never in exponent form."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if column in _MONEY_COLUMNS and currency:
            return str(quantize_amount(value, currency))
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _after_line_edit(*, invoice: Invoice, actor, message: str, params: dict) -> Invoice:
    """Shared tail of every line/tax edit, inside the caller's transaction: mark the invoice as
    a clerk's (a re-extraction keeps the lines), record the timeline event, re-route an
    invoice already in approval. Returns None when the caller should re-evaluate."""
    if not invoice.touched_by_human:
        invoice.touched_by_human = True
        invoice.save(update_fields=["touched_by_human", "updated_at"])
    InvoiceEvent.objects.create(
        invoice=invoice, kind=InvoiceEvent.Kind.FIELD_EDIT, actor=actor, message=message, params=params,
    )
    if invoice.state in REROUTE_STATES:
        from apinvoices.checks import invoice_run_checks

        invoice_run_checks(invoice=invoice, source="review")
        reroute = import_string(settings.AP_APPROVAL_REROUTE)
        return reroute(invoice, actor, reason=message)
    return None


def _finish(result: Invoice | None, invoice: Invoice, actor) -> Invoice:
    if result is not None:
        return result
    return invoice_evaluate(invoice=invoice, actor=actor, source="review")


def _describe(values: dict, currency: str) -> str:
    return ", ".join(f"{k} {_text(v, k, currency) or '—'}" for k, v in values.items())


def _apply_row_changes(row, new: dict, *, currency: str, exclude: list[str]) -> tuple[dict, dict, dict]:
    """Set and save the values of ``new`` that differ on ``row`` (a line or a tax row). Returns
    the changes as ({column: (old, new)}, old texts, new texts); all empty when nothing changed."""
    changes = {k: (getattr(row, k), v) for k, v in new.items() if getattr(row, k) != v}
    if not changes:
        return {}, {}, {}
    for column, (_old, value) in changes.items():
        setattr(row, column, value)
    row.full_clean(exclude=exclude)
    row.save(update_fields=list(changes))
    old_texts = {k: _text(old, k, currency) for k, (old, _v) in changes.items()}
    new_texts = {k: _text(v, k, currency) for k, (_o, v) in changes.items()}
    return changes, old_texts, new_texts


def invoice_line_update(*, invoice: Invoice, line_id: int, values: dict[str, str], actor) -> Invoice:
    """Change one line's description, quantity, unit price and/or amount (only the keys given).

    Numbers are parsed as typed (``1.234,50`` and ``1234.50`` both work); the amount is rounded
    to the invoice currency's minor unit. One transaction: the line, an ``InvoiceEvent`` with
    old and new values, auditlog history naming ``actor``; then the checks run again (so the
    "lines sum to net" finding opens or closes) and an invoice in approval is routed again.
    Raises ``ApplicationError`` and changes nothing for a bad value, a line of another invoice,
    or an invoice whose state does not allow edits.
    """
    result = None
    with transaction.atomic(), audit_actor(actor):
        invoice = _locked_editable(invoice)
        line = invoice.lines.filter(pk=line_id).first()
        if line is None:
            raise ApplicationError("No such line on this invoice.", code=ErrorCode.NOT_FOUND)
        new = _line_values(invoice=invoice, values={k: v for k, v in values.items() if k in LINE_COLUMNS})
        changes, old_texts, new_texts = _apply_row_changes(
            line, new, currency=invoice.currency, exclude=["invoice", "po_line"]
        )
        if not changes:
            return invoice
        message = f"Line {line.position}: " + "; ".join(
            f"{k} {old_texts[k] or '—'} → {new_texts[k] or '—'}" for k in changes
        )
        result = _after_line_edit(
            invoice=invoice, actor=actor, message=message,
            params={"line": line.position, "action": "edit", "old": old_texts, "new": new_texts},
        )
    return _finish(result, invoice, actor)


def invoice_line_add(*, invoice: Invoice, values: dict[str, str], actor) -> Invoice:
    """Append a line (position after the last). When the amount is blank but quantity and unit
    price are given, the amount is their product rounded to the currency. Same transaction,
    audit, checks and state rules as ``invoice_line_update``; a line with neither a
    description nor an amount is refused."""
    from apinvoices.models import InvoiceLine

    result = None
    with transaction.atomic(), audit_actor(actor):
        invoice = _locked_editable(invoice)
        new = _line_values(invoice=invoice, values={k: values.get(k, "") for k in LINE_COLUMNS})
        if new["amount"] is None and new["quantity"] is not None and new["unit_price"] is not None:
            if not invoice.currency:
                raise ApplicationError("Set the currency before the amounts.")
            new["amount"] = quantize_amount(new["quantity"] * new["unit_price"], invoice.currency)
        if not new["description"] and new["amount"] is None:
            raise ApplicationError("A line needs a description or an amount.")
        last = invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0
        line = InvoiceLine(invoice=invoice, position=last + 1, **new)
        line.full_clean(exclude=["invoice", "po_line"])
        line.save()
        result = _after_line_edit(
            invoice=invoice, actor=actor,
            message=f"Line {line.position} added: {_describe(new, invoice.currency)}",
            params={"line": line.position, "action": "add", "new": {k: _text(v, k, invoice.currency) for k, v in new.items()}},
        )
    return _finish(result, invoice, actor)


def invoice_line_delete(*, invoice: Invoice, line_id: int, actor) -> Invoice:
    """Delete one line and close the gap in the positions (later lines move up by one). Same
    transaction, audit (the removed values are kept in the event), checks and state rules as
    ``invoice_line_update``."""
    result = None
    with transaction.atomic(), audit_actor(actor):
        invoice = _locked_editable(invoice)
        line = invoice.lines.filter(pk=line_id).first()
        if line is None:
            raise ApplicationError("No such line on this invoice.", code=ErrorCode.NOT_FOUND)
        old = {k: getattr(line, k) for k in LINE_COLUMNS}
        position = line.position
        line.delete()
        # One row at a time in ascending order: each target position is free when it is taken.
        for later in invoice.lines.filter(position__gt=position).order_by("position"):
            later.position -= 1
            later.save(update_fields=["position"])
        result = _after_line_edit(
            invoice=invoice, actor=actor,
            message=f"Line {position} deleted: {_describe(old, invoice.currency)}",
            params={"line": position, "action": "delete", "old": {k: _text(v, k, invoice.currency) for k, v in old.items()}},
        )
    return _finish(result, invoice, actor)


def invoice_tax_update(*, invoice: Invoice, tax_id: int, values: dict[str, str], actor) -> Invoice:
    """Change one row of the tax breakdown (rate in percent, base, tax; only the keys given).
    Base and tax cannot be blanked. Same transaction, audit, checks and state rules as
    ``invoice_line_update``."""
    result = None
    with transaction.atomic(), audit_actor(actor):
        invoice = _locked_editable(invoice)
        tax = invoice.taxes.filter(pk=tax_id).first()
        if tax is None:
            raise ApplicationError("No such tax row on this invoice.", code=ErrorCode.NOT_FOUND)
        new = _tax_values(invoice=invoice, values={k: v for k, v in values.items() if k in TAX_COLUMNS})
        if any(v is None for v in new.values()):
            raise ApplicationError("A tax row needs its base and its tax; delete the row instead.")
        changes, old_texts, new_texts = _apply_row_changes(tax, new, currency=invoice.currency, exclude=["invoice"])
        if not changes:
            return invoice
        message = f"Tax {_text(tax.rate)} %: " + "; ".join(f"{k} {old_texts[k]} → {new_texts[k]}" for k in changes)
        result = _after_line_edit(
            invoice=invoice, actor=actor, message=message,
            params={"tax": tax.pk, "action": "edit", "old": old_texts, "new": new_texts},
        )
    return _finish(result, invoice, actor)


def invoice_tax_add(*, invoice: Invoice, values: dict[str, str], actor) -> Invoice:
    """Add a row to the tax breakdown. A blank tax is computed as base × rate / 100 rounded to
    the currency. Same transaction, audit, checks and state rules as ``invoice_line_update``."""
    from apinvoices.models import InvoiceTax

    result = None
    with transaction.atomic(), audit_actor(actor):
        invoice = _locked_editable(invoice)
        new = _tax_values(invoice=invoice, values={k: values.get(k, "") for k in TAX_COLUMNS})
        if new["base_amount"] is None:
            raise ApplicationError("A tax row needs its base amount.")
        if new["tax_amount"] is None:
            new["tax_amount"] = quantize_amount(new["base_amount"] * new["rate"] / 100, invoice.currency)
        tax = InvoiceTax(invoice=invoice, **new)
        tax.full_clean(exclude=["invoice"])
        tax.save()
        result = _after_line_edit(
            invoice=invoice, actor=actor, message=f"Tax row added: {_describe(new, invoice.currency)}",
            params={"tax": tax.pk, "action": "add", "new": {k: _text(v, k, invoice.currency) for k, v in new.items()}},
        )
    return _finish(result, invoice, actor)


def invoice_tax_delete(*, invoice: Invoice, tax_id: int, actor) -> Invoice:
    """Delete one row of the tax breakdown. Same transaction, audit, checks and state rules as
    ``invoice_line_update``."""
    result = None
    with transaction.atomic(), audit_actor(actor):
        invoice = _locked_editable(invoice)
        tax = invoice.taxes.filter(pk=tax_id).first()
        if tax is None:
            raise ApplicationError("No such tax row on this invoice.", code=ErrorCode.NOT_FOUND)
        old = {k: getattr(tax, k) for k in TAX_COLUMNS}
        tax_pk = tax.pk
        tax.delete()
        result = _after_line_edit(
            invoice=invoice, actor=actor, message=f"Tax row deleted: {_describe(old, invoice.currency)}",
            params={"tax": tax_pk, "action": "delete", "old": {k: _text(v, k, invoice.currency) for k, v in old.items()}},
        )
    return _finish(result, invoice, actor)


# --- Filling a field by clicking a word on the page image ----------------------------------------

# Fields whose value may span several words (a date "12 March 2024", an amount "1 234,56"):
# the clicked word is extended to the right, one word at a time, until the text parses.
_MULTI_WORD_FIELDS = AMOUNT_FIELDS | DATE_FIELDS
# Free-text fields: the clicked word and the rest of its line.
_LINE_FIELDS = frozenset({"vendor_name", "payment_terms"})
_LABEL_WORDS = 3
_VALUE_WORDS = 4


def _label_before(line: list, first) -> str:
    """The words printed just before the value on its line: up to three, stopping at one that
    holds a digit (a number next to the label changes from invoice to invoice)."""
    before = [w for w in line if w[3] <= first[1] + 0.5 and w is not first]
    label = []
    for word in reversed(before[-_LABEL_WORDS:]):
        if any(ch.isdigit() for ch in word[0]):
            break
        label.insert(0, word[0])
    return " ".join(label).rstrip(":#").strip()


def invoice_field_pick_word(*, invoice: Invoice, name: str, page: int, x: float, y: float, actor) -> Invoice:
    """Fill field ``name`` with the word a clerk clicked at (``x``, ``y``) on page ``page`` of
    the original (page-image frame, see ``services.words``), and teach vendor memory where this
    vendor prints it.

    The text comes from the stored word boxes, never from the browser. Amounts and dates take
    following words on the same line until the text parses; vendor name and terms take the rest
    of the line. The value is set through ``invoice_update_field`` (source clerk, audited,
    checks re-run, re-routed in approval) with the words' box and the label printed before it.
    Raises ``ApplicationError`` when no word is there or its text does not fit the field.
    """
    from apinvoices.services.words import document_page_words, same_line

    if name not in REVIEW_FIELDS:
        raise ApplicationError(f"“{name}” cannot be edited.")
    invoice = Invoice.objects.select_related("document").get(pk=invoice.pk)
    words = document_page_words(document=invoice.document, page=page)
    slack = 2.0
    hits = [w for w in words if w[1] - slack <= x <= w[3] + slack and w[2] - slack <= y <= w[4] + slack]
    if not hits:
        raise ApplicationError("There is no word at that spot; click on the text itself.")
    first = min(hits, key=lambda w: abs((w[1] + w[3]) / 2 - x) + abs((w[2] + w[4]) / 2 - y))
    line = same_line(words, first)
    following = [w for w in line if w[1] >= first[1] - 0.5 and w is not first]
    if name in _LINE_FIELDS:
        choices = [[first, *following]]
    elif name in _MULTI_WORD_FIELDS:
        choices = [[first, *following[:k]] for k in range(_VALUE_WORDS)]
    else:
        choices = [[first]]
    chosen, error = None, None
    for candidate in choices:
        text = " ".join(w[0] for w in candidate)
        try:
            coerce_field_value(name=name, raw=text, currency=invoice.currency)
        except ApplicationError as err:
            error = error or err
            continue
        chosen = candidate
        break
    if chosen is None:
        raise ApplicationError(f"“{first[0]}” does not fit this field: {error.message}") from error
    text = " ".join(w[0] for w in chosen)
    bbox = [min(w[1] for w in chosen), min(w[2] for w in chosen), max(w[3] for w in chosen), max(w[4] for w in chosen)]
    return invoice_update_field(
        invoice=invoice, name=name, value=text, actor=actor, page=page, bbox=bbox,
        label=_label_before(line, first),
    )
