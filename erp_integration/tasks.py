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
    """Scheduled (``AP_ERP_SYNC_MINUTES``): pull vendors and open purchase orders from the ERP.

    Idempotent (see ``services.sync``); an unreachable ERP raises, so django-q2 records the run
    as failed and the next one tries again.
    """
    from erp_integration.services.sync import erp_sync_all

    return str(erp_sync_all())


def sync_payment_status() -> str:
    """Scheduled (``AP_ERP_PAYMENT_STATUS_MINUTES``): move invoices the ERP reports paid to paid.

    Idempotent (see ``services.payment_status``). Returns the summary line.
    """
    from erp_integration.services.payment_status import erp_payment_status_sync

    return str(erp_payment_status_sync())
