"""State changes of many rows at once, audited exactly as one-by-one saves would be.

Why: a payment run of a few thousand payments moved each payment and each invoice with its own
locked ``save()``; django-auditlog's save receivers re-read every row and insert one entry per
save, so exporting cost ~10 queries per payment. Here the same changes take a fixed number of
statements per run: one locked read per table, one UPDATE per table, one INSERT of invoice
events and one INSERT of auditlog entries.

Guarantees (callers MUST be inside ``transaction.atomic``):
- Every row is locked (``select_for_update``, in primary-key order so concurrent batches cannot
  deadlock) and checked against its state machine BEFORE anything is written; one forbidden move
  raises ``InvalidTransition`` and nothing changes.
- Each invoice gets the ``InvoiceEvent`` of kind ``state`` that ``invoice_transition`` would write
  (actor or source, from, to, reason, params).
- Each changed row gets the django-auditlog ``LogEntry`` its receiver would have written: same
  diff (``model_instance_diff`` honours the registry's excluded fields), object repr, actor and
  correlation id; only the INSERT is shared.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence

from auditlog.cid import get_cid
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.encoding import smart_str

from apinvoices.models import Invoice, InvoiceEvent
from apinvoices.states import INVOICE_MACHINE, StateMachine


def audit_entries_for_updates(
    pairs: Iterable[tuple[models.Model, models.Model]], *, fields: Sequence[str], actor=None
) -> list[LogEntry]:
    """Unsaved LogEntry rows for (before, after) pairs of one model, as auditlog's update
    receiver builds them. Pairs without a change in ``fields`` get no entry."""
    entries = []
    content_type = None
    cid = get_cid()
    for before, after in pairs:
        changes = model_instance_diff(
            before, after, fields_to_check=list(fields),
            use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES,
        )
        if not changes:
            continue
        content_type = content_type or ContentType.objects.get_for_model(after)
        entries.append(LogEntry(
            content_type=content_type,
            object_pk=str(after.pk),
            object_id=after.pk if isinstance(after.pk, int) else None,
            object_repr=smart_str(after),
            serialized_data=LogEntry.objects._get_serialized_data_or_none(after),
            action=LogEntry.Action.UPDATE,
            changes=changes,
            actor=actor,
            actor_email=getattr(actor, "email", None) if actor is not None else None,
            cid=cid,
        ))
    return entries


def rows_transition_bulk(
    *, model: type[models.Model], machine: StateMachine, pks: Sequence[int], target: str,
    extra_updates: Mapping[str, object] | None = None, actor=None,
    per_row: Mapping[int, Mapping[str, object]] | None = None,
) -> tuple[list[models.Model], list[LogEntry]]:
    """Lock ``pks``, check every move, write ``state=target`` and ``extra_updates`` in one UPDATE
    (with ``per_row`` values, one ``bulk_update`` per batch of the database's parameter limit).
    Returns the rows as they were before, and the unsaved audit entries of the change."""
    before = list(model.objects.select_for_update().filter(pk__in=pks).order_by("pk"))
    if len(before) != len(set(pks)):
        raise model.DoesNotExist(f"{model.__name__}: {len(set(pks)) - len(before)} rows are missing")
    for row in before:
        machine.check(pk=row.pk, current=row.state, target=target)
    updates = {"state": target, **(extra_updates or {})}
    if any(f.name == "updated_at" for f in model._meta.fields):
        updates.setdefault("updated_at", timezone.now())
    pairs = []
    fields = set(updates)
    for row in before:
        after = copy.copy(row)
        for name, value in {**updates, **(per_row or {}).get(row.pk, {})}.items():
            setattr(after, name, value)
            fields.add(name)
        pairs.append((row, after))
    if per_row:
        model.objects.bulk_update([after for _, after in pairs], sorted(fields))
    else:
        model.objects.filter(pk__in=pks).update(**updates)
    return before, audit_entries_for_updates(pairs, fields=sorted(fields), actor=actor)


def invoices_transition_bulk(
    *, invoice_ids: Sequence[int], to: str, actor=None, source: str = "", reason: str = "",
    reasons: Mapping[int, str] | None = None, params: Mapping[int, dict] | None = None,
) -> list[LogEntry]:
    """``invoice_transition`` for many invoices; see the module guarantees. ``reasons`` gives
    an invoice its own reason instead of ``reason``.

    Returns the unsaved audit entries so the caller can insert them with its own in one go.
    """
    if actor is None and not source:
        raise ValueError("a transition without an actor must name its source")
    now = timezone.now()
    before, entries = rows_transition_bulk(
        model=Invoice, machine=INVOICE_MACHINE, pks=invoice_ids, target=to, actor=actor,
        extra_updates={"state_reason": reason, "state_changed_at": now},
        per_row={pk: {"state_reason": text} for pk, text in reasons.items()} if reasons else None,
    )
    InvoiceEvent.objects.bulk_create([
        InvoiceEvent(
            invoice_id=row.pk, kind=InvoiceEvent.Kind.STATE, actor=actor, source=source,
            from_state=row.state, to_state=to, message=(reasons or {}).get(row.pk, reason),
            params=(params or {}).get(row.pk, {}), created_at=now,
        )
        for row in before
    ])
    return entries
