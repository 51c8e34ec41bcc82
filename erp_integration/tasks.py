"""django-q2 entry points for the ERP outbox: thin, by id."""

from __future__ import annotations

from erp_integration.services.sending import erp_posting_send, erp_postings_retry_due


def send_posting(posting_id: int) -> str:
    """Send one outbox row (no-op if another worker holds it). Returns its state."""
    return erp_posting_send(posting_id=posting_id).state


def retry_due_postings() -> int:
    """Scheduled every minute: re-queue failed and abandoned postings whose time has come."""
    return erp_postings_retry_due()


def sync_from_erp() -> str:
    """Pull vendors and open purchase orders from the configured ERP."""
    from erp_integration.services.sync import erp_sync_all

    return str(erp_sync_all())
