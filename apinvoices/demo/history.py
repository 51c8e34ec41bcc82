"""Give the seeded demo invoices a past: weeks of history instead of one minute of seeding.

The seed runs every step through the real services, so every timestamp is "just now", which
makes the dashboard's cycle time, the inbox's age column and the exception queue's age filter
meaningless in a demo. This module moves each demo invoice's history back in time as a team
would have lived it: received a few days after the invoice date, people acting hours apart,
machines seconds apart. The order of everything that happened to an invoice is kept; only the
gaps between the steps change.

Only demo rows are touched (the documents of the demo channel and what hangs off them), and
only once, right after they were created; approval e-mail links keep their expiry.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

# Within one action a service writes several events in the same instant; a longer gap or a
# change of actor or source starts the next step.
SAME_ACTION = timedelta(seconds=1)


@dataclass(frozen=True)
class _Anchor:
    original: datetime
    moved: datetime


def _warp(anchors: list[_Anchor]) -> Callable[[datetime | None], datetime | None]:
    """A monotone map of old timestamps to new ones: each timestamp keeps its offset from the
    latest anchor (event) at or before it."""
    originals = [a.original for a in anchors]

    def moved(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        index = max(bisect.bisect_right(originals, value) - 1, 0)
        anchor = anchors[index]
        return anchor.moved + (value - anchor.original)

    return moved


def _received_at(rng: random.Random, *, issued, tz) -> datetime:
    day = issued + timedelta(days=rng.randint(0, 3))
    clock = time(hour=rng.randint(7, 16), minute=rng.randint(0, 59))
    return timezone.make_aware(datetime.combine(day, clock), tz)


def _anchors(events, *, start: datetime, rng: random.Random, human_hours: tuple[float, float]) -> list[_Anchor]:
    anchors = [_Anchor(events[0].created_at, start)]
    for previous, event in zip(events, events[1:]):
        gap = event.created_at - previous.created_at
        same_step = gap < SAME_ACTION and (event.actor_id, event.source) == (previous.actor_id, previous.source)
        if same_step:
            step = gap
        elif event.actor_id is not None:  # a person acted: hours later
            step = timedelta(hours=rng.uniform(*human_hours))
        else:  # the worker or an integration: seconds to minutes later
            step = timedelta(seconds=rng.uniform(5, 600))
        anchors.append(_Anchor(event.created_at, anchors[-1].moved + step))
    return anchors


def demo_history_spread(*, channel: str, seed: int, now: datetime | None = None) -> int:
    """Move the history of every invoice from ``channel`` into the past; returns how many.

    Invoices still waiting for an approver get a recent history (hours, not weeks), so the
    reminder and escalation schedule does not fire for all of them on the first start.
    """
    from approvals.models import ApprovalStep
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from apinvoices.models import DocumentReceipt, Extraction, Invoice, InvoiceEvent, InvoiceException
    from erp_integration.models import ErpPosting

    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    rng = random.Random(seed)
    invoice_type = ContentType.objects.get_for_model(Invoice)
    waiting = set(
        ApprovalStep.objects.filter(state=ApprovalStep.State.PENDING).values_list("invoice_id", flat=True)
    )
    moved_count = 0
    invoices = Invoice.objects.filter(document__channel=channel).select_related("document").order_by("pk")
    with transaction.atomic():
        for invoice in invoices:
            events = list(invoice.events.order_by("created_at", "pk"))
            if not events:
                continue
            recent = invoice.pk in waiting or invoice.issue_date is None
            human_hours = (0.5, 3.0) if recent else (1.0, 40.0)
            if recent:
                start = now - timedelta(hours=rng.uniform(6, 20))
            else:
                # A misread year must not send the history to another decade.
                start = max(_received_at(rng, issued=invoice.issue_date, tz=tz), now - timedelta(days=60))
            anchors = _anchors(events, start=start, rng=rng, human_hours=human_hours)
            overshoot = anchors[-1].moved - (now - timedelta(minutes=5))
            if overshoot > timedelta(0):  # a late invoice date: end a few minutes ago instead
                anchors = [_Anchor(a.original, a.moved - overshoot) for a in anchors]
            warp = _warp(anchors)

            for event in events:
                InvoiceEvent.objects.filter(pk=event.pk).update(created_at=warp(event.created_at))
            Invoice.objects.filter(pk=invoice.pk).update(
                created_at=warp(invoice.created_at), state_changed_at=warp(invoice.state_changed_at)
            )
            document = invoice.document
            type(document).objects.filter(pk=document.pk).update(received_at=warp(document.received_at))
            for receipt in DocumentReceipt.objects.filter(document=document):
                DocumentReceipt.objects.filter(pk=receipt.pk).update(received_at=warp(receipt.received_at))
            for run in Extraction.objects.filter(document=document):
                Extraction.objects.filter(pk=run.pk).update(
                    started_at=warp(run.started_at), finished_at=warp(run.finished_at)
                )
            for finding in InvoiceException.objects.filter(invoice=invoice):
                InvoiceException.objects.filter(pk=finding.pk).update(
                    created_at=warp(finding.created_at), resolved_at=warp(finding.resolved_at)
                )
            for step in ApprovalStep.objects.filter(invoice=invoice):
                ApprovalStep.objects.filter(pk=step.pk).update(
                    created_at=warp(step.created_at), activated_at=warp(step.activated_at),
                    decided_at=warp(step.decided_at),
                )
            for posting in ErpPosting.objects.filter(invoice=invoice):
                ErpPosting.objects.filter(pk=posting.pk).update(
                    created_at=warp(posting.created_at), posted_at=warp(posting.posted_at),
                    updated_at=warp(posting.updated_at),
                )
            for entry in LogEntry.objects.filter(content_type=invoice_type, object_pk=str(invoice.pk)):
                LogEntry.objects.filter(pk=entry.pk).update(timestamp=warp(entry.timestamp))
            moved_count += 1
    return moved_count
