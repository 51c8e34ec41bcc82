"""Telling approvers: e-mail with approve/reject links, and chat webhooks per rule.

Everything here runs from django-q2 tasks queued after the deciding transaction commits, so a
rolled-back decision never sends mail, and a slow mail server or a broken webhook never blocks
an approval.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit
from dataclasses import dataclass
from decimal import Decimal

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from apinvoices.models import InvoiceEvent, InvoiceException
from apinvoices.money import format_amount
from approvals.models import ApprovalStep, ApprovalToken
from approvals.services.links import approval_link_create

logger = logging.getLogger(__name__)


class Kind:
    NEW = "new"
    REMINDER = "reminder"
    ESCALATION = "escalation"


def approval_steps_notify(*, step_ids: list[int], kind: str = Kind.NEW, webhook: bool | None = None) -> None:
    """Queue an e-mail and (if the rule has one) a chat webhook per step, after commit.

    MUST be called inside the transaction that made the steps pending; nothing is queued if
    it rolls back. ``webhook`` says whether the steps' rule has a webhook when the caller
    knows (saves a query); None looks it up.
    """
    ids = [int(pk) for pk in step_ids]
    if not ids:
        return

    hooked = []
    if webhook is True and kind in (Kind.NEW, Kind.ESCALATION):
        hooked = ids
    elif webhook is None and kind in (Kind.NEW, Kind.ESCALATION):
        hooked = list(
            ApprovalStep.objects.filter(pk__in=ids).exclude(rule__notify_webhook_url="")
            .exclude(rule__isnull=True).values_list("pk", flat=True)
        )

    hooked = list(hooked)

    def _queue() -> None:
        # One task per transaction, not per step: each enqueue on the ORM broker is a commit.
        async_task("approvals.tasks.notify_steps", ids, kind, hooked)

    transaction.on_commit(_queue)


def _subject_safe(text: str) -> str:
    # Headers must not carry line breaks (Django refuses them); vendor names come from documents.
    return " ".join(str(text).split())[:150]


@dataclass(frozen=True)
class StepMail:
    subject: str
    text: str
    html: str
    to: str


def approval_step_email_render(*, step: ApprovalStep, kind: str = Kind.NEW) -> StepMail | None:
    """Build the e-mail for one pending step, creating its two single-use links.

    Returns None (and creates nothing) when the step is not pending or its approver has no
    e-mail address. Every user-controlled value is escaped in the HTML part by the template
    engine; the plain-text part carries no markup at all.
    """
    step = (
        ApprovalStep.objects.select_related("invoice", "invoice__vendor", "approver", "on_behalf_of", "rule")
        .filter(pk=step.pk)
        .first()
    )
    if step is None or step.state != ApprovalStep.State.PENDING or not step.approver.email:
        return None
    invoice = step.invoice
    warnings = list(
        InvoiceException.objects.filter(invoice=invoice, status=InvoiceException.Status.OPEN)
        .order_by("-severity", "created_at")
        .values_list("message", flat=True)[:10]
    )
    base = settings.AP_BASE_URL.rstrip("/")
    context = {
        "step": step,
        "invoice": invoice,
        "vendor": invoice.vendor.name if invoice.vendor_id else invoice.vendor_name,
        "total": format_amount(invoice.total_amount, invoice.currency or "EUR") if invoice.total_amount is not None else "",
        "currency": invoice.currency,
        "warnings": warnings,
        "kind": kind,
        "approve_url": approval_link_create(step=step, action=ApprovalToken.Action.APPROVE),
        "reject_url": approval_link_create(step=step, action=ApprovalToken.Action.REJECT),
        "page_url": base + reverse("approvals:step", kwargs={"pk": step.pk}),
        "max_age_days": settings.AP_APPROVAL_LINK_MAX_AGE_DAYS,
        "approver_name": step.approver.get_full_name() or step.approver.get_username(),
        "on_behalf_of": (step.on_behalf_of.get_full_name() or step.on_behalf_of.get_username()) if step.on_behalf_of_id else "",
    }
    prefix = {Kind.REMINDER: _("Reminder: "), Kind.ESCALATION: _("Escalated: ")}.get(kind, "")
    subject = _subject_safe(
        prefix
        + _("Approve invoice %(number)s from %(vendor)s – %(total)s %(currency)s")
        % {"number": invoice.invoice_number or f"#{invoice.pk}", "vendor": context["vendor"],
           "total": context["total"], "currency": invoice.currency}
    )
    return StepMail(
        subject=subject,
        text=render_to_string("approvals/email/step_pending.txt", context),
        html=render_to_string("approvals/email/step_pending.html", context),
        to=step.approver.email,
    )


def approval_step_email_send(*, step_id: int, kind: str = Kind.NEW) -> bool:
    """Send the e-mail for one step. Returns False when there was nothing to send.

    Raises the mail backend's error (the task records it and django-q2 retries).
    """
    step = ApprovalStep(pk=step_id)
    mail = approval_step_email_render(step=step, kind=kind)
    if mail is None:
        return False
    message = EmailMultiAlternatives(subject=mail.subject, body=mail.text, to=[mail.to],
                                     headers={"Auto-Submitted": "auto-generated"})
    message.attach_alternative(mail.html, "text/html")
    message.send()
    return True


# --- Chat webhooks ------------------------------------------------------------------------------


def _money(invoice) -> str:
    if invoice.total_amount is None:
        return ""
    return f"{format_amount(invoice.total_amount, invoice.currency or 'EUR')} {invoice.currency}"


def webhook_flavour(url: str) -> str:
    """``teams`` for Microsoft Teams incoming-webhook or Workflows URLs, else ``slack``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith((".office.com", ".logic.azure.com")) or "/webhookb2/" in parts.path:
        return "teams"
    return "slack"


def webhook_payload(*, url: str, step: ApprovalStep, kind: str) -> dict:
    """The JSON body for a Slack or Microsoft Teams incoming webhook.

    Slack gets ``text`` plus blocks; Teams (``*.webhook.office.com`` / ``*.logic.azure.com``
    workflow URLs) gets a MessageCard-compatible body. Amounts are decimal strings.
    """
    invoice = step.invoice
    vendor = invoice.vendor.name if invoice.vendor_id else invoice.vendor_name
    who = step.approver.get_full_name() or step.approver.get_username()
    headline = (
        _("Escalated to %(who)s") if kind == Kind.ESCALATION else _("Approval needed from %(who)s")
    ) % {"who": who}
    facts = [
        (_("Vendor"), vendor),
        (_("Invoice"), invoice.invoice_number or f"#{invoice.pk}"),
        (_("Total"), _money(invoice)),
        (_("Due"), invoice.due_date.isoformat() if invoice.due_date else "—"),
    ]
    page = settings.AP_BASE_URL.rstrip("/") + reverse("approvals:step", kwargs={"pk": step.pk})
    if webhook_flavour(url) == "teams":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": headline,
            "title": headline,
            "sections": [{"facts": [{"name": k, "value": v} for k, v in facts]}],
            "potentialAction": [
                {"@type": "OpenUri", "name": _("Open"), "targets": [{"os": "default", "uri": page}]}
            ],
        }
    # Slack mrkdwn: &, < and > are control characters and must be escaped in user text.
    def esc(text: str) -> str:
        return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    lines = "\n".join(f"*{esc(k)}:* {esc(v)}" for k, v in facts)
    return {
        "text": f"{esc(headline)}: {esc(vendor)} {esc(facts[1][1])} {esc(facts[2][1])}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{esc(headline)}*\n{lines}"}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": _("Open")}, "url": page}
            ]},
        ],
    }


def approval_step_webhook_send(*, step_id: int, kind: str = Kind.NEW) -> bool:
    """Post the rule's webhook for one step. Never raises for HTTP trouble: a failure is logged
    and written to the invoice's timeline, and the approval carries on. Returns True on a 2xx."""
    step = (
        ApprovalStep.objects.select_related("invoice", "invoice__vendor", "approver", "rule")
        .filter(pk=step_id).first()
    )
    if step is None or step.rule is None or not step.rule.notify_webhook_url:
        return False
    url = step.rule.notify_webhook_url
    body = json.dumps(webhook_payload(url=url, step=step, kind=kind), default=_json_default)
    try:
        response = requests.post(url, data=body.encode(), timeout=settings.AP_WEBHOOK_TIMEOUT_SECONDS,
                                 headers={"Content-Type": "application/json"})
        response.raise_for_status()
    except requests.RequestException as err:
        logger.warning("webhook for step %s failed: %s", step_id, err)
        InvoiceEvent.objects.create(
            invoice=step.invoice, kind=InvoiceEvent.Kind.NOTE, source="task:webhook",
            message=_("Chat notification failed: %(error)s") % {"error": str(err)[:300]},
            params={"step_id": step.pk, "kind": kind, "error": str(err)[:1000]},
        )
        return False
    return True


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(type(value))



def approval_steps_notify_now(*, step_ids: list[int], kind: str, webhook_step_ids: list[int]) -> dict:
    """Send the e-mails and webhooks of several steps, one at a time.

    A step whose e-mail fails is queued again as its own ``send_step_email`` task (which
    django-q2 retries), so one bad address or a mail server hiccup neither loses the others nor
    sends them twice. Webhooks never raise. Returns counts.
    """
    sent = failed = 0
    for pk in step_ids:
        try:
            sent += bool(approval_step_email_send(step_id=pk, kind=kind))
        except Exception:  # noqa: BLE001 - any backend error: retried on its own below
            logger.exception("approval e-mail for step %s failed; queued for retry", pk)
            failed += 1
            # Always through the broker (also when tasks run inline): a retry happens later,
            # by the cluster, never inside this loop.
            async_task("approvals.tasks.send_step_email", pk, kind, sync=False)
    hooks = sum(bool(approval_step_webhook_send(step_id=pk, kind=kind)) for pk in webhook_step_ids)
    return {"sent": sent, "retrying": failed, "webhooks": hooks}
