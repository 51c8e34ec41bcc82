"""Periodic work of the ERP integration, created idempotently by ``manage.py setup_schedules``."""

from __future__ import annotations

from django.conf import settings
from django_q.models import Schedule

RETRY_DUE_POSTINGS = "erp-retry-due-postings"
SYNC_MASTER_DATA = "erp-sync-vendors-and-orders"
SYNC_PAYMENT_STATUS = "erp-sync-payment-status"


def _wanted() -> dict[str, tuple[str, int]]:
    """name: (task, every N minutes); 0 minutes switches a schedule off."""
    return {
        RETRY_DUE_POSTINGS: ("erp_integration.tasks.retry_due_postings", 1),
        SYNC_MASTER_DATA: ("erp_integration.tasks.sync_from_erp", settings.AP_ERP_SYNC_MINUTES),
        SYNC_PAYMENT_STATUS: (
            "erp_integration.tasks.sync_payment_status", settings.AP_ERP_PAYMENT_STATUS_MINUTES,
        ),
    }


def ensure_schedules() -> list[str]:
    """Create or update this app's schedules; delete those set to 0 minutes. Returns the names
    that are active. Idempotent: running it again changes nothing."""
    active = []
    for name, (func, minutes) in _wanted().items():
        if minutes <= 0:
            Schedule.objects.filter(name=name).delete()
            continue
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
        active.append(name)
    return active
