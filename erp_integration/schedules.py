"""Periodic work of the ERP outbox (created idempotently at start-up)."""

from __future__ import annotations

from django_q.models import Schedule


def ensure_schedules() -> None:
    Schedule.objects.update_or_create(
        name="erp-retry-due-postings",
        defaults={
            "func": "erp_integration.tasks.retry_due_postings",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
