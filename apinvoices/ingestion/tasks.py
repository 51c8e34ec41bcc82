"""django-q2 entry points for the polled channels (scheduled by ``apinvoices.schedules``)."""

from __future__ import annotations

from django.conf import settings

from apinvoices.ingestion.dropfolder import scan_dropfolder
from apinvoices.ingestion.imap import MailboxConfig, poll_mailbox


def poll_mailbox_task() -> str:
    """Poll the configured mailbox once; a no-op when no mailbox is configured."""
    config = MailboxConfig.from_settings()
    if config is None:
        return "no mailbox configured"
    report = poll_mailbox(config)
    later = f", {report.deferred} left for the next poll" if report.deferred else ""
    return f"{len(report.messages)} message(s){later}"


def scan_dropfolder_task() -> str:
    """Scan the configured drop folder once; a no-op when none is configured."""
    if not settings.AP_DROP_FOLDER:
        return "no drop folder configured"
    report = scan_dropfolder(settings.AP_DROP_FOLDER)
    if report.busy:
        return "busy"
    later = f", {len(report.deferred)} left for the next scan" if report.deferred else ""
    return f"{len(report.picked_up)} file(s){later}"
