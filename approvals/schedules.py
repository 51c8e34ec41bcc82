"""Scheduled jobs of the approvals app (django-q2 ``Schedule`` rows)."""

from __future__ import annotations

from django_q.models import Schedule

REMIND_AND_ESCALATE = "approvals: remind and escalate"
# Hourly is fine-grained enough for an hours-based reminder and cheap (two indexed queries).
REMIND_EVERY_MINUTES = 60


def ensure_schedules() -> list[Schedule]:
    """Create or update this app's schedules. Idempotent: safe on every start-up."""
    schedule, _created = Schedule.objects.update_or_create(
        name=REMIND_AND_ESCALATE,
        defaults={
            "func": "approvals.tasks.remind_and_escalate",
            "schedule_type": Schedule.MINUTES,
            "minutes": REMIND_EVERY_MINUTES,
            "repeats": -1,
        },
    )
    return [schedule]
