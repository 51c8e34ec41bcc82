"""The invoice state machine, and the small engine every stateful model in the project uses.

Every change of ``Invoice.state`` goes through :func:`invoice_transition`: one transaction, the
row locked with ``select_for_update``, the table below checked, one ``InvoiceEvent`` written and
django-auditlog's field history attributed to the actor. Nothing else writes ``Invoice.state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditlog.context import set_actor
from django.db import models, transaction
from django.utils import timezone

from apinvoices.exceptions import InvalidTransition
from apinvoices.models import Invoice, InvoiceEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

S = Invoice.State

INVOICE_TRANSITIONS: Mapping[str, frozenset[str]] = {
    # An encrypted PDF is recognised on arrival: it waits for a clerk's password first.
    S.RECEIVED: frozenset({S.EXTRACTING, S.PASSWORD_NEEDED, S.DUPLICATE, S.VOID}),
    S.EXTRACTING: frozenset(
        {
            S.NEEDS_REVIEW,
            S.EXCEPTION,
            S.AWAITING_APPROVAL,
            S.EXTRACTION_FAILED,
            S.PASSWORD_NEEDED,
            S.DUPLICATE,
        }
    ),
    S.PASSWORD_NEEDED: frozenset({S.EXTRACTING, S.VOID}),
    S.EXTRACTION_FAILED: frozenset({S.EXTRACTING, S.NEEDS_REVIEW, S.VOID}),
    S.NEEDS_REVIEW: frozenset(
        {S.AWAITING_APPROVAL, S.EXCEPTION, S.EXTRACTING, S.DUPLICATE, S.VOID}
    ),
    S.EXCEPTION: frozenset({S.NEEDS_REVIEW, S.AWAITING_APPROVAL, S.EXTRACTING, S.DUPLICATE, S.VOID}),
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.NEEDS_REVIEW, S.EXCEPTION, S.VOID}),
    # An approved invoice edited before it reaches the ERP goes back through approval.
    S.APPROVED: frozenset({S.POSTED, S.AWAITING_APPROVAL, S.NEEDS_REVIEW}),
    S.REJECTED: frozenset({S.NEEDS_REVIEW, S.VOID}),
    S.POSTED: frozenset({S.SCHEDULED, S.PAID}),
    S.SCHEDULED: frozenset({S.PAID, S.POSTED}),
    S.PAID: frozenset(),
    # A clerk may overturn a duplicate verdict; the invoice then gets reviewed again.
    S.DUPLICATE: frozenset({S.NEEDS_REVIEW}),
    S.VOID: frozenset(),
}


@dataclass(frozen=True)
class StateMachine:
    """A transition table for one model's state field."""

    model_label: str
    table: Mapping[str, frozenset[str]]

    def allowed(self, current: str) -> frozenset[str]:
        return self.table.get(current, frozenset())

    def can(self, current: str, target: str) -> bool:
        return target in self.allowed(current)

    def check(self, *, pk, current: str, target: str) -> None:
        if not self.can(current, target):
            raise InvalidTransition(model=self.model_label, pk=pk, current=current, target=target)

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.table) | frozenset().union(*self.table.values())


INVOICE_MACHINE = StateMachine("invoice", INVOICE_TRANSITIONS)


def locked_transition(
    *,
    machine: StateMachine,
    instance: models.Model,
    target: str,
    field: str = "state",
    extra_updates: Mapping[str, object] | None = None,
) -> tuple[models.Model, str]:
    """Lock ``instance``'s row, check the table, write the new state (and ``extra_updates``).

    MUST be called inside ``transaction.atomic``. Returns the fresh locked instance and the
    previous state. Raises ``InvalidTransition`` (and changes nothing) if the move is not allowed.
    """
    fresh = type(instance).objects.select_for_update().get(pk=instance.pk)
    previous = getattr(fresh, field)
    machine.check(pk=fresh.pk, current=previous, target=target)
    setattr(fresh, field, target)
    update_fields = [field]
    for name, value in (extra_updates or {}).items():
        setattr(fresh, name, value)
        update_fields.append(name)
    if any(f.name == "updated_at" for f in fresh._meta.fields):
        update_fields.append("updated_at")
    fresh.save(update_fields=update_fields)
    return fresh, previous


def invoice_transition(
    *,
    invoice: Invoice | int,
    to: str,
    actor: AbstractBaseUser | None = None,
    source: str = "",
    reason: str = "",
    on_behalf_of: AbstractBaseUser | None = None,
    params: dict | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Invoice:
    """Move one invoice to state ``to``.

    Runs in its own transaction (or joins the caller's), locks the invoice row, checks
    ``INVOICE_TRANSITIONS``, records an ``InvoiceEvent`` (actor, or ``source`` for system work,
    from, to, reason) and auditlog history attributed to ``actor``. Raises ``InvalidTransition``
    with code ``invalid_transition`` and changes nothing when the move is not allowed.
    A system change (``actor`` None) MUST name its ``source`` (e.g. ``"task:extract"``).
    """
    if actor is None and not source:
        raise ValueError("a transition without an actor must name its source")
    pk = invoice.pk if isinstance(invoice, Invoice) else invoice
    with transaction.atomic(), set_actor(actor) if actor is not None else nullcontext():
        fresh, previous = locked_transition(
            machine=INVOICE_MACHINE,
            instance=Invoice(pk=pk),
            target=to,
            extra_updates={"state_reason": reason, "state_changed_at": timezone.now()},
        )
        InvoiceEvent.objects.create(
            invoice=fresh,
            kind=InvoiceEvent.Kind.STATE,
            actor=actor,
            on_behalf_of=on_behalf_of,
            source=source,
            from_state=previous,
            to_state=to,
            message=reason,
            params=params or {},
            ip_address=ip_address,
            user_agent=user_agent[:300],
        )
    if isinstance(invoice, Invoice):
        invoice.state = fresh.state
        invoice.state_reason = fresh.state_reason
        invoice.state_changed_at = fresh.state_changed_at
    return fresh


# The name DESIGN.md uses for the one entry point.
transition = invoice_transition
