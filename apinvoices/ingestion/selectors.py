"""Reads for the ingestion pages."""

from __future__ import annotations

from apinvoices.models import InboundMail


def inbound_mail_needing_attention(*, limit: int = 25):
    """Recent mails that brought no invoice or failed, newest first (for clerks to check)."""
    return (
        InboundMail.objects.filter(status__in=[InboundMail.Status.NO_INVOICE, InboundMail.Status.FAILED])
        .select_related("eml")
        .order_by("-received_at", "-pk")[:limit]
    )
