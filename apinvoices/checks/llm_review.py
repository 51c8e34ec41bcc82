"""LLM review: an optional second opinion on the invoice, never more than a warning.

When the LLM is configured (``OPENAI_API_KEY``; see ``apinvoices.extraction.llm``) the model
reads the document text and the invoice's current values and lists concerns; any concern
becomes one warning exception carrying the model's words. The review is advisory: it never
blocks, never touches other findings and never changes the invoice's state.

The model is asked again only when what it would see changed: its answer is cached on the
invoice's latest successful Extraction (``result["llm_review"]``) under a hash of the fields,
lines, taxes and document text. A failed call (timeout, 429, 500, malformed JSON) is logged by
the LLM module and cached as "nothing to say" for that hash, so an outage costs one slow call
per change of the invoice, not one per check run, and the invoice proceeds as if the LLM were
off.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.utils.translation import gettext as _

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.extraction.llm import llm_enabled, llm_review
from apinvoices.extraction.types import FieldValue
from apinvoices.models import Extraction, Invoice


CACHE_KEY = "llm_review"
# Fields the model sees (what a clerk checks against the original), in a fixed order so the
# hash does not depend on dict order.
REVIEW_FIELDS = (*Invoice.EDITABLE_FIELDS, "document_type")


def review_input(invoice: Invoice) -> dict[str, str]:
    """The invoice's values as the model sees them: strings, blanks left out, lines and taxes
    as one readable field each."""
    values = {}
    for name in REVIEW_FIELDS:
        value = getattr(invoice, name)
        if value not in (None, ""):
            values[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    lines = [
        f"{line.position}. {line.description} | qty {line.quantity if line.quantity is not None else '-'}"
        f" | unit {line.unit_price if line.unit_price is not None else '-'}"
        f" | amount {line.amount if line.amount is not None else '-'}"
        for line in invoice.lines.all()
    ]
    if lines:
        values["lines"] = "; ".join(lines)
    taxes = [f"{tax.rate}% of {tax.base_amount} = {tax.tax_amount}" for tax in invoice.taxes.all()]
    if taxes:
        values["taxes"] = "; ".join(taxes)
    return values


def review_hash(values: dict[str, str], text: str) -> str:
    payload = json.dumps({"values": values, "text": hashlib.sha256(text.encode()).hexdigest(),
                          "model": settings.OPENAI_MODEL}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@register
class LlmReviewCheck(Check):
    """Contract exception: besides returning findings, ``run`` writes its own cache (one JSON
    key on the Extraction, never a business row). While the LLM is off the check owns no kind,
    so an advisory opened earlier stays as it is instead of being closed by the runner."""

    @property
    def kinds(self) -> tuple[str, ...]:
        return (Kind.LLM_REVIEW,) if llm_enabled() else ()

    def run(self, invoice: Invoice):
        if not llm_enabled():
            return
        extraction = (
            Extraction.objects.filter(document_id=invoice.document_id, status=Extraction.Status.SUCCEEDED)
            .exclude(text="").order_by("-started_at").only("pk", "text", "result").first()
        )
        if extraction is None:
            return  # nothing to compare the values with (e.g. an e-invoice XML has no text)
        values = review_input(invoice)
        digest = review_hash(values, extraction.text)
        cached = (extraction.result or {}).get(CACHE_KEY) or {}
        if cached.get("hash") == digest:
            concerns = cached.get("concerns") or ""
        else:
            fields = {name: FieldValue(value=value, confidence=1.0, source="text") for name, value in values.items()}
            concerns = llm_review(extraction.text, fields) or ""
            result = dict(extraction.result or {})
            result[CACHE_KEY] = {"hash": digest, "concerns": concerns, "model": settings.OPENAI_MODEL}
            Extraction.objects.filter(pk=extraction.pk).update(result=result)
        if concerns:
            yield Finding(
                kind=Kind.LLM_REVIEW,
                key="llm",
                severity=Severity.WARNING,
                message=_("Advisory only; the model noted:\n%(concerns)s")
                % {"concerns": concerns[:2000]},
                params={"hash": digest, "model": settings.OPENAI_MODEL},
            )
