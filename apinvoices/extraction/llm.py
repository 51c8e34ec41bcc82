"""Optional LLM help: fill fields the other sources missed, and an advisory review.

Any OpenAI-compatible server works (``OPENAI_BASE_URL``); off unless ``OPENAI_API_KEY`` is
set. The model answers through a strict JSON schema (Chat Completions structured output).

Guarantees:
- never raises: a timeout, rate limit, server error or malformed answer leaves the extraction
  as it was, with a warning "LLM unavailable: …";
- never overrides an e-invoice (source ``"xml"``) value, nor any value with confidence
  >= ``LOW_CONFIDENCE``;
- a value it proposes is kept only if it parses (date, amount, valid IBAN) and, for text and
  identifiers, appears in the document text; kept values get source ``"llm"`` and the modest
  confidence ``LLM_CONFIDENCE`` so that a clerk still confirms them;
- it approves nothing: ``llm_review`` returns advisory text only.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from apinvoices.extraction.identifiers import compact_tax_id, normalize_iban
from apinvoices.extraction.types import ExtractedInvoice, FieldValue

logger = logging.getLogger(__name__)

LOW_CONFIDENCE = 0.6  # fields below this are worth a second opinion
LLM_CONFIDENCE = 0.55  # below auto-accept (0.9): an LLM value is a suggestion, not a fact
MAX_TEXT_CHARS = 12_000  # roughly 3-4k tokens: enough for the header pages of an invoice

LLM_FIELDS: tuple[str, ...] = (
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
_AMOUNT_FIELDS = {"net_amount", "tax_amount", "total_amount"}
_DATE_FIELDS = {"issue_date", "due_date"}
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

FIELDS_SCHEMA = {
    "type": "object",
    "properties": {
        name: {
            "type": ["string", "null"],
            "description": (
                "ISO date YYYY-MM-DD"
                if name in _DATE_FIELDS
                else "plain decimal with a dot, no thousands separator, e.g. 1234.56"
                if name in _AMOUNT_FIELDS
                else "ISO 4217 code"
                if name == "currency"
                else "as printed on the invoice"
            ),
        }
        for name in LLM_FIELDS
    },
    "required": list(LLM_FIELDS),
    "additionalProperties": False,
}
REVIEW_SCHEMA = {
    "type": "object",
    "properties": {"concerns": {"type": "array", "items": {"type": "string"}}},
    "required": ["concerns"],
    "additionalProperties": False,
}


class LlmUnavailable(Exception):
    """The LLM could not give a usable answer; the message says why (shown to clerks)."""


def llm_enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "OPENAI_API_KEY", ""))


def _client():
    from django.conf import settings
    from openai import OpenAI

    return OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL or None,
        timeout=float(settings.OPENAI_TIMEOUT_SECONDS),
        # One retry honours a short Retry-After; more would hold an extraction worker hostage.
        max_retries=int(getattr(settings, "OPENAI_MAX_RETRIES", 1)),
    )


def _ask(system: str, user: str, *, schema_name: str, schema: dict) -> dict:
    """One structured-output call; raises ``LlmUnavailable`` with a clerk-readable reason."""
    import openai
    from django.conf import settings

    try:
        completion = _client().chat.completions.create(
            model=settings.OPENAI_MODEL,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            },
            temperature=0,
        )
    except openai.APITimeoutError as err:
        raise LlmUnavailable("timed out") from err
    except openai.RateLimitError as err:
        retry_after = err.response.headers.get("retry-after") if err.response is not None else None
        suffix = f", retry after {retry_after} s" if retry_after else ""
        raise LlmUnavailable(f"rate limited (HTTP 429{suffix})") from err
    except openai.APIStatusError as err:
        raise LlmUnavailable(f"server error (HTTP {err.status_code})") from err
    except openai.APIConnectionError as err:
        raise LlmUnavailable("cannot connect") from err
    except openai.OpenAIError as err:
        raise LlmUnavailable(f"client error ({type(err).__name__})") from err
    try:
        choice = completion.choices[0]
        if getattr(choice.message, "refusal", None):
            raise LlmUnavailable("the model refused to answer")
        answer = json.loads(choice.message.content or "")
    except (IndexError, AttributeError, TypeError, json.JSONDecodeError) as err:
        raise LlmUnavailable("malformed answer (not the requested JSON)") from err
    if not isinstance(answer, dict):
        raise LlmUnavailable("malformed answer (not a JSON object)")
    return answer


def _gaps(result: ExtractedInvoice) -> list[str]:
    gaps = []
    for name in LLM_FIELDS:
        fv = result.fields.get(name)
        if fv is None or (fv.source != "xml" and fv.confidence < LOW_CONFIDENCE):
            gaps.append(name)
    return gaps


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _squash(text: str) -> str:
    return re.sub(r"[\s.\-/]", "", text).upper()


def _parse_answer(name: str, raw, text: str):
    """Return the typed value for a proposed answer, or None when it is unusable or not
    grounded in the document text (a guard against invented values)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = raw.strip()
    if name in _DATE_FIELDS:
        if not _ISO_DATE.match(raw):
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    if name in _AMOUNT_FIELDS:
        if not _AMOUNT.match(raw):
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return None
        # Grounding: the digits of the amount appear in the text (1.234,56 -> 123456).
        digits = _digits(format(abs(value), "f")).lstrip("0") or "0"
        return value if digits in _digits(text) else None
    if name == "currency":
        return raw.upper() if re.fullmatch(r"[A-Za-z]{3}", raw) else None
    if name == "vendor_iban":
        iban = normalize_iban(raw)
        return iban if iban and iban in _squash(text) else None
    if name == "vendor_tax_id":
        tax_id = compact_tax_id(raw)
        return tax_id if tax_id and _squash(tax_id) in _squash(text) else None
    collapsed = " ".join(raw.split())
    return collapsed if collapsed.lower() in " ".join(text.split()).lower() else None


def llm_fill(result: ExtractedInvoice) -> ExtractedInvoice:
    """Ask the LLM for fields that are missing or below ``LOW_CONFIDENCE`` and fill those the
    answer supports. Returns the same object (updated in place). Never raises."""
    if not llm_enabled():
        return result
    gaps = _gaps(result)
    if not gaps or not result.text.strip():
        return result
    known = {
        name: str(fv.value)
        for name, fv in result.fields.items()
        if name in LLM_FIELDS and name not in gaps
    }
    system = (
        "You read supplier invoices for an accounts-payable team. Return the requested fields "
        "exactly as printed in the document; use null when a field is not in the document. "
        "Never guess. The vendor is the party that issued the invoice, not the buyer."
    )
    user = (
        f"Fields already known (do not change): {json.dumps(known, ensure_ascii=False)}\n"
        f"Fields wanted: {', '.join(gaps)}\n\nDocument text:\n{result.text[:MAX_TEXT_CHARS]}"
    )
    try:
        answer = _ask(system, user, schema_name="invoice_fields", schema=FIELDS_SCHEMA)
    except LlmUnavailable as err:
        logger.warning("LLM fill failed: %s", err, exc_info=err.__cause__ is not None)
        result.warnings.append(f"LLM unavailable: {err}")
        return result
    except Exception as err:
        logger.exception("LLM fill failed unexpectedly")
        result.warnings.append(f"LLM unavailable: unexpected error ({type(err).__name__})")
        return result
    filled = []
    for name in gaps:
        value = _parse_answer(name, answer.get(name), result.text)
        if value is None:
            continue
        current = result.fields.get(name)
        if current is not None and current.source == "xml":  # belt and braces
            continue
        result.fields[name] = FieldValue(value=value, confidence=LLM_CONFIDENCE, source="llm")
        filled.append(name)
    if filled:
        result.warnings.append(f"LLM suggested: {', '.join(filled)}")
    return result


def llm_review(text: str, fields: dict[str, FieldValue]) -> str | None:
    """Advisory review of an extraction: concerns a clerk may want to look at, as text, or
    None when the LLM is off, has no concern, or is unavailable. Never raises; never decides."""
    if not llm_enabled() or not text.strip():
        return None
    values = {name: str(fv.value) for name, fv in fields.items()}
    system = (
        "You review invoice data extracted for an accounts-payable clerk. List concrete "
        "concerns only (inconsistent totals, dates, a vendor or bank detail that does not match "
        "the text, signs of a duplicate or fraud). Return an empty list when all is fine."
    )
    user = f"Extracted fields: {json.dumps(values, ensure_ascii=False)}\n\nDocument text:\n{text[:MAX_TEXT_CHARS]}"
    try:
        answer = _ask(system, user, schema_name="invoice_review", schema=REVIEW_SCHEMA)
    except LlmUnavailable as err:
        logger.warning("LLM review failed: %s", err)
        return None
    except Exception:
        logger.exception("LLM review failed unexpectedly")
        return None
    concerns = answer.get("concerns")
    if not isinstance(concerns, list):
        return None
    lines = [" ".join(str(c).split()) for c in concerns if str(c).strip()]
    return "\n".join(f"- {line}" for line in lines) or None
