"""django-q2 entry points: thin, by id, each calls one service."""

from __future__ import annotations

from approvals.services.notifications import (
    Kind,
    approval_step_email_send,
    approval_step_webhook_send,
    approval_steps_notify_now,
)
from approvals.services.reminders import approval_steps_remind_and_escalate


def notify_steps(step_ids: list[int], kind: str = Kind.NEW, webhook_step_ids: list[int] | None = None) -> dict:
    """E-mail (and post webhooks for) the steps that just became pending; see the service."""
    return approval_steps_notify_now(step_ids=step_ids, kind=kind, webhook_step_ids=webhook_step_ids or [])


def send_step_email(step_id: int, kind: str = Kind.NEW) -> bool:
    """E-mail the approver of one step (with fresh single-use links). False: nothing to send."""
    return approval_step_email_send(step_id=step_id, kind=kind)


def send_step_webhook(step_id: int, kind: str = Kind.NEW) -> bool:
    """Post the step's rule webhook, if any. Never raises for HTTP errors."""
    return approval_step_webhook_send(step_id=step_id, kind=kind)


def remind_and_escalate() -> dict:
    """Scheduled: remind once after AP_APPROVAL_REMIND_AFTER_HOURS, escalate after
    AP_APPROVAL_ESCALATE_AFTER_DAYS. Idempotent; returns counts for the task log."""
    run = approval_steps_remind_and_escalate()
    return {"reminded": len(run.reminded), "escalated": len(run.escalated), "skipped": len(run.skipped)}
