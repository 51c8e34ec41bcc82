"""Validation checks: one module per check, one registry, one function that runs them all.

A check looks at one invoice and returns ``Finding`` values; it never writes. The runner turns
findings into ``InvoiceException`` rows: a finding that is already open is updated, not
duplicated; an open exception whose finding no longer appears is closed as resolved by the
system; a finding a clerk dismissed stays dismissed while its numbers stay the same.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apinvoices.models import Invoice, InvoiceEvent, InvoiceException

Kind = InvoiceException.Kind
Severity = InvoiceException.Severity


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    message: str
    key: str = ""
    params: dict = field(default_factory=dict)
    related_invoice_id: int | None = None


class Check(abc.ABC):
    """Contract: ``run`` MUST NOT write to the database and MUST be deterministic for the same
    data. It SHOULD put the numbers involved into the message and ``params``. ``kinds`` lists the
    exception kinds it owns: the runner closes open exceptions of those kinds it did not find."""

    kinds: tuple[str, ...] = ()

    @abc.abstractmethod
    def run(self, invoice: Invoice) -> Iterable[Finding]: ...


_REGISTRY: list[Check] = []
CHECK_MODULES = (
    "apinvoices.checks.required",
    "apinvoices.checks.arithmetic",
    "apinvoices.checks.duplicates",
    "apinvoices.checks.dates",
    "apinvoices.checks.amount_pattern",
    "apinvoices.checks.po_match",
    "apinvoices.checks.bank_details",
    # Last: an advisory second opinion on what the other checks already looked at.
    "apinvoices.checks.llm_review",
)


def register(cls: type[Check]) -> type[Check]:
    _REGISTRY.append(cls())
    return cls


def registered_checks() -> list[Check]:
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return list(_REGISTRY)


@dataclass(frozen=True)
class CheckOutcome:
    opened: int
    updated: int
    closed: int
    open_blocking: int
    open_warnings: int


@transaction.atomic
def invoice_run_checks(*, invoice: Invoice, source: str = "checks") -> CheckOutcome:
    """Run every registered check on ``invoice`` and bring its exceptions up to date.

    Idempotent: running it twice on the same data changes nothing the second time. One
    transaction; the invoice row is locked so two runs for one invoice do not interleave.
    """
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("vendor").get(pk=invoice.pk)
    checks = registered_checks()
    findings: dict[tuple[str, str], Finding] = {}
    for check in checks:
        for finding in check.run(invoice):
            findings[(finding.kind, finding.key)] = finding
    owned_kinds = {kind for check in checks for kind in check.kinds}

    existing = list(InvoiceException.objects.filter(invoice=invoice, kind__in=owned_kinds))
    open_by_key = {(e.kind, e.key): e for e in existing if e.status == InvoiceException.Status.OPEN}
    dismissed = {
        (e.kind, e.key): e for e in existing if e.status == InvoiceException.Status.DISMISSED
    }
    now = timezone.now()
    opened = updated = closed = 0
    for key, finding in findings.items():
        current = open_by_key.pop(key, None)
        if current is not None:
            if (current.message, current.params, current.severity) != (
                finding.message,
                finding.params,
                finding.severity,
            ):
                current.message, current.params = finding.message, finding.params
                current.severity = finding.severity
                current.save(update_fields=["message", "params", "severity"])
                updated += 1
            continue
        was_dismissed = dismissed.get(key)
        if was_dismissed is not None and was_dismissed.params == finding.params:
            continue
        InvoiceException.objects.create(
            invoice=invoice,
            kind=finding.kind,
            key=finding.key,
            severity=finding.severity,
            message=finding.message,
            params=finding.params,
            related_invoice_id=finding.related_invoice_id,
        )
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.EXCEPTION,
            source=source,
            message=finding.message,
            params={"kind": finding.kind, "severity": finding.severity, "action": "opened"},
        )
        opened += 1
    for stale in open_by_key.values():
        stale.status = InvoiceException.Status.RESOLVED
        stale.resolved_at = now
        stale.resolution_note = "No longer applies after the invoice was checked again."
        stale.save(update_fields=["status", "resolved_at", "resolution_note"])
        InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.EXCEPTION,
            source=source,
            message=stale.message,
            params={"kind": stale.kind, "action": "closed"},
        )
        closed += 1

    # Both tallies in one aggregate: this runs for every invoice on every re-check.
    still_open = InvoiceException.objects.filter(invoice=invoice, status=InvoiceException.Status.OPEN).aggregate(
        blocking=Count("pk", filter=Q(severity=Severity.BLOCKING)),
        warnings=Count("pk", filter=Q(severity=Severity.WARNING)),
    )
    return CheckOutcome(
        opened=opened,
        updated=updated,
        closed=closed,
        open_blocking=still_open["blocking"],
        open_warnings=still_open["warnings"],
    )
