"""Read queries of the ERP pages."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from erp_integration.backends.base import ErpErrorCode
from erp_integration.models import ErpPosting, ErpPostingAttempt

# What a person should do about each failure code (shown next to the ERP's own message).
ERROR_ADVICE: dict[str, str] = {
    ErpErrorCode.UNAVAILABLE: "The ERP could not be reached. It is retried automatically; if it stays down, check the ERP server or the export folder.",
    ErpErrorCode.TIMEOUT: "The ERP did not answer in time. It is retried automatically; the retry finds the document if the ERP did create it.",
    ErpErrorCode.AUTH: "The ERP refused our credentials. Ask an administrator to fix the ERP login, then press Retry.",
    ErpErrorCode.VALIDATION: "The ERP refused the invoice data. Correct the invoice or the ERP mapping (vendor, tax rate, account), then press Retry.",
    ErpErrorCode.RATE_LIMITED: "The ERP asked us to slow down. It is retried automatically after the wait it named.",
    ErpErrorCode.CONFLICT: "The ERP holds more than one document for this invoice. Resolve it in the ERP, then press Retry.",
    ErpErrorCode.NOT_CONFIGURED: "The ERP connection is not configured. Ask an administrator to set it up, then press Retry.",
    "internal_error": "Our software failed while sending. Report it; press Retry once fixed.",
}


def posting_list(*, state: str = "") -> QuerySet[ErpPosting]:
    qs = ErpPosting.objects.select_related("invoice", "invoice__vendor").order_by("-created_at", "-pk")
    if state:
        qs = qs.filter(state=state)
    return qs


def posting_state_counts() -> dict[str, int]:
    return dict(ErpPosting.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))


def posting_detail(*, pk: int) -> ErpPosting:
    """One posting with its invoice, vendor and creator joined (raises DoesNotExist)."""
    return ErpPosting.objects.select_related("invoice", "invoice__vendor", "created_by").get(pk=pk)


def posting_attempts(*, posting: ErpPosting) -> list[ErpPostingAttempt]:
    """Every attempt of ``posting``, oldest first (one query)."""
    return list(ErpPostingAttempt.objects.filter(posting=posting).order_by("number", "pk"))
