"""The project's recurring django-q2 schedules, created idempotently.

Call :func:`ensure_schedules` from ``make run`` (``manage.py setup_schedules``) or a deploy step;
running it again updates the rows in place, never duplicates them.
"""

from __future__ import annotations

from django.conf import settings

SCHEDULES = {
    # name: (function path, what it does)
    "ap-poll-mailbox": ("apinvoices.ingestion.tasks.poll_mailbox_task", "Import invoices from the AP mailbox"),
    "ap-scan-dropfolder": ("apinvoices.ingestion.tasks.scan_dropfolder_task", "Pick up files from the drop folder"),
}


def ensure_schedules() -> list[str]:
    """Create or update every schedule; returns their names. Idempotent."""
    from django_q.models import Schedule

    names = []
    for name, (func, _) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": settings.AP_POLL_MINUTES,
                "repeats": -1,
            },
        )
        names.append(name)
    return names
