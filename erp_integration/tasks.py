"""django-q2 entry points for the ERP outbox: thin, by id."""

from __future__ import annotations

from erp_integration.services.sending import erp_posting_send, erp_postings_retry_due


def send_posting(posting_id: int) -> str:
    """Send one outbox row (no-op if another worker holds it). Returns its state."""
    return erp_posting_send(posting_id=posting_id).state


def retry_due_postings() -> int:
    """Scheduled every minute: re-queue failed and abandoned postings whose time has come."""
    return erp_postings_retry_due()
