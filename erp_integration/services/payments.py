"""Payment runs: propose, review, approve (four eyes), export the bank file, import camt.054.

Guarantees:
- A proposal holds posted invoices of one currency, paid from one of our accounts, that are due
  by ``due_until`` or whose early-payment discount is still open on the execution date. An
  invoice is paid at most once (a live-payment unique constraint backs the check).
- Money goes only to a VERIFIED vendor bank account whose IBAN (EUR) or routing/account number
  (USD) matches; every other invoice is left out with its reason (``payment_run_exclusions``).
- A discount ("2/10 net 30" in the invoice's payment terms) is taken only when the execution
  date is within the discount period; the payment then carries ``discount_amount`` and is reduced.
- The user who proposed a run cannot approve it (service check with a clear message, and a
  database constraint). Export needs an approved run; it stores the file, schedules the payments
  and moves the invoices posted → scheduled in one transaction, or changes nothing.
- A camt.054 import marks booked debits paid (invoice → paid) and returns failed (invoice back
  to posted). Importing the same file again changes nothing. Every step is an InvoiceEvent of
  kind ``payment``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from auditlog.models import LogEntry
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apinvoices.exceptions import ApplicationError, ErrorCode
from apinvoices.models import Invoice, InvoiceEvent, VendorBankAccount
from apinvoices.states import locked_transition
from erp_integration.models import Payment, PaymentRun
from erp_integration.services.bulk_audit import invoices_transition_bulk, rows_transition_bulk
from erp_integration.payments import PaymentFileError
from erp_integration.payments.camt054 import parse_camt054, payment_outcomes
from erp_integration.payments.nacha import NachaBatch, NachaEntry, NachaFile, NachaOriginator, build_nacha
from erp_integration.payments.sepa import SepaDebtor, SepaPayment, SepaRun, build_pain001
from erp_integration.states import PAYMENT_MACHINE, PAYMENT_RUN_MACHINE

R, Y = PaymentRun.State, Payment.State
LIVE_PAYMENT_STATES = (Y.PROPOSED, Y.SCHEDULED, Y.PAID)
CENT = Decimal("0.01")

# "2/10 net 30", "2/10 n/30", "2% 10, net 30", "2 % 10 days net 30 days"
_TERMS = re.compile(
    r"(?P<pct>\d{1,2}(?:[.,]\d{1,2})?)\s*%?\s*(?:/|\s)\s*(?P<days>\d{1,3})\s*(?:days?)?\s*,?\s*"
    r"(?:net|n/|n)\s*(?P<net>\d{1,3})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DiscountTerms:
    percent: Decimal
    days: int
    net_days: int


def parse_payment_terms(text: str) -> DiscountTerms | None:
    """The early-payment discount in ``text`` ("2/10 net 30"), or None when it offers none."""
    match = _TERMS.search(text or "")
    if not match:
        return None
    percent = Decimal(match["pct"].replace(",", "."))
    days, net = int(match["days"]), int(match["net"])
    if not (Decimal(0) < percent < Decimal(100)) or days >= net:
        return None
    return DiscountTerms(percent=percent, days=days, net_days=net)


def discount_for(invoice: Invoice, *, execution_date: date) -> tuple[Decimal, date | None]:
    """(discount amount, last discount day); (0, None) when none applies on ``execution_date``."""
    terms = parse_payment_terms(invoice.payment_terms)
    if terms is None or invoice.issue_date is None or invoice.total_amount is None:
        return Decimal(0), None
    last_day = invoice.issue_date + timedelta(days=terms.days)
    if execution_date > last_day:
        return Decimal(0), last_day
    amount = (invoice.total_amount * terms.percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return amount, last_day


@dataclass
class Exclusion:
    invoice: Invoice
    reason: str


@dataclass
class Proposal:
    run: PaymentRun
    excluded: list[Exclusion] = field(default_factory=list)


def _compact(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def _candidates(*, currency: str):
    # Credit notes are settled against invoices in the ERP, never paid out by transfer.
    already = Payment.objects.filter(state__in=LIVE_PAYMENT_STATES).values("invoice_id")
    return (
        Invoice.objects.filter(state=Invoice.State.POSTED, currency=currency)
        .exclude(document_type=Invoice.DocumentType.CREDIT_NOTE)
        .exclude(pk__in=already)
        .select_related("vendor")
        .prefetch_related("vendor__bank_accounts")
        .order_by("due_date", "pk")
    )


def _verified_account(invoice: Invoice, *, currency: str) -> tuple[VendorBankAccount | None, str]:
    if invoice.vendor is None:
        return None, "No vendor record: match the invoice to a vendor first."
    accounts = [a for a in invoice.vendor.bank_accounts.all()]
    if currency == "EUR":
        iban = _compact(invoice.vendor_iban)
        if not iban:
            return None, "The invoice names no IBAN."
        same = [a for a in accounts if _compact(a.iban) == iban]
    else:
        same = [a for a in accounts if a.routing_number and a.account_number and a.currency == currency]
    verified = [a for a in same if a.status == VendorBankAccount.Status.VERIFIED]
    if verified:
        return verified[0], ""
    if same:
        return None, f"Bank account {same[0].iban or same[0].account_number} is {same[0].get_status_display().lower()}: a second person must verify it on the vendor page."
    return None, "The vendor has no verified bank account for this invoice's payment details."


def _select(*, currency: str, due_until: date, execution_date: date):
    """Yield (invoice, account or None, reason, discount) for every posted invoice in scope."""
    for invoice in _candidates(currency=currency):
        discount, last_day = discount_for(invoice, execution_date=execution_date)
        due = invoice.due_date is None or invoice.due_date <= due_until
        if not due and not discount:
            continue
        account, reason = _verified_account(invoice, currency=currency)
        yield invoice, account, reason, discount


def payment_run_propose(
    *, actor, name: str, currency: str, due_until: date, execution_date: date, debtor_account: str,
    file_format: str,
) -> Proposal:
    """Create a draft run with one payment per payable invoice; see the module guarantees."""
    currency = currency.upper()
    if file_format == PaymentRun.FileFormat.NACHA and currency != "USD":
        raise ApplicationError("NACHA files pay US dollars only.")
    if file_format != PaymentRun.FileFormat.NACHA and currency != "EUR":
        raise ApplicationError("SEPA credit transfers pay euros only.")
    with transaction.atomic():
        run = PaymentRun.objects.create(
            name=name or f"{currency} run {execution_date.isoformat()}", currency=currency,
            due_until=due_until, execution_date=execution_date, file_format=file_format,
            debtor_account=_compact(debtor_account), created_by=actor,
        )
        proposal = Proposal(run=run)
        for invoice, account, reason, discount in _select(currency=currency, due_until=due_until,
                                                          execution_date=execution_date):
            if account is None:
                proposal.excluded.append(Exclusion(invoice, reason))
                continue
            Payment.objects.create(
                run=run, invoice=invoice, bank_account=account, currency=currency,
                amount=invoice.total_amount - discount, discount_amount=discount,
                end_to_end_id=f"AP{run.pk}-{invoice.pk}",
            )
            InvoiceEvent.objects.create(
                invoice=invoice, kind=InvoiceEvent.Kind.PAYMENT, actor=actor,
                message=f"Proposed in payment run “{run.name}”"
                        + (f" with {discount} {currency} early-payment discount." if discount else "."),
                params={"run_id": run.pk, "discount": str(discount)},
            )
    return proposal


def payment_run_exclusions(run: PaymentRun) -> list[Exclusion]:
    """For a draft run: the invoices in scope that cannot be paid, and why."""
    if run.state != R.DRAFT:
        return []
    return [
        Exclusion(invoice, reason)
        for invoice, account, reason, _ in _select(currency=run.currency, due_until=run.due_until,
                                                   execution_date=run.execution_date)
        if account is None
    ]


def payment_remove(*, payment: Payment, actor) -> Payment:
    """Take one payment out of a draft run (the invoice stays posted and can be paid later)."""
    with transaction.atomic():
        run = PaymentRun.objects.select_for_update().get(pk=payment.run_id)
        if run.state != R.DRAFT:
            raise ApplicationError("Payments can only be removed while the run is a draft.")
        payment, _ = locked_transition(machine=PAYMENT_MACHINE, instance=payment, target=Y.CANCELLED)
        InvoiceEvent.objects.create(
            invoice_id=payment.invoice_id, kind=InvoiceEvent.Kind.PAYMENT, actor=actor,
            message=f"Removed from payment run “{run.name}”.", params={"run_id": run.pk},
        )
    return payment


def payment_run_approve(*, run: PaymentRun, actor) -> PaymentRun:
    """A second person approves a draft run. Raises four_eyes for the proposer."""
    if run.created_by_id == actor.pk:
        raise ApplicationError(
            "You proposed this payment run, so another person must approve it (four-eyes rule).",
            code=ErrorCode.FOUR_EYES,
        )
    try:
        with transaction.atomic():
            if not run.payments.filter(state=Y.PROPOSED).exists():
                raise ApplicationError("The run has no payments left to approve.")
            run, _ = locked_transition(
                machine=PAYMENT_RUN_MACHINE, instance=run, target=R.APPROVED,
                extra_updates={"approved_by": actor, "approved_at": timezone.now()},
            )
    except IntegrityError as err:  # the database's four-eyes constraint, should the check race
        raise ApplicationError("Another person must approve this payment run (four-eyes rule).",
                               code=ErrorCode.FOUR_EYES) from err
    return run


def _file_bytes(run: PaymentRun, payments: list[Payment]) -> tuple[bytes, str]:
    remittance = lambda p: f"{p.invoice.invoice_number}"[:140]  # noqa: E731
    if run.file_format == PaymentRun.FileFormat.NACHA:
        originator = NachaOriginator(
            odfi_routing_number=settings.AP_NACHA_ODFI_ROUTING, bank_name=settings.AP_NACHA_BANK_NAME,
            company_name=settings.AP_COMPANY_NAME[:16], company_id=settings.AP_NACHA_COMPANY_ID,
        )
        entries = tuple(
            NachaEntry(routing_number=p.bank_account.routing_number, account_number=p.bank_account.account_number,
                       amount=p.amount, receiver_name=(p.invoice.vendor.name if p.invoice.vendor else p.invoice.vendor_name)[:22],
                       receiver_id=p.end_to_end_id[:15], addenda=remittance(p)[:80])
            for p in payments
        )
        data = build_nacha(NachaFile(originator=originator, created_at=timezone.now(),
                                     batches=(NachaBatch(effective_date=run.execution_date, entries=entries),)))
        return data, "ach"
    sepa = SepaRun(
        debtor=SepaDebtor(name=settings.AP_COMPANY_NAME, iban=run.debtor_account, bic=settings.AP_COMPANY_BIC),
        payments=tuple(
            SepaPayment(creditor_name=(p.bank_account.holder_name or (p.invoice.vendor.name if p.invoice.vendor else p.invoice.vendor_name))[:70],
                        iban=p.bank_account.iban, bic=p.bank_account.bic, amount=p.amount,
                        end_to_end_id=p.end_to_end_id, remittance=remittance(p),
                        execution_date=run.execution_date, currency=p.currency)
            for p in payments
        ),
    )
    return build_pain001(sepa, version=run.file_format), "xml"


def payment_run_export(*, run: PaymentRun, actor) -> PaymentRun:
    """Build and store the bank file of an approved run; schedule payments and invoices.

    Raises ApplicationError (with the file builder's reason) and changes nothing on failure.
    """
    with transaction.atomic():
        run = PaymentRun.objects.select_for_update().get(pk=run.pk)
        if run.state != R.APPROVED:
            raise ApplicationError("Only an approved payment run can be exported.")
        payments = list(run.payments.filter(state=Y.PROPOSED).select_related("invoice__vendor", "bank_account"))
        try:
            data, ext = _file_bytes(run, payments)
        except PaymentFileError as err:
            raise ApplicationError(f"The bank file could not be built: {err}") from err
        # One statement per table for the whole run, audited as row-by-row saves would be
        # (see bulk_audit): row-by-row cost ~10 queries and two auditlog receivers per payment.
        _, audit = rows_transition_bulk(model=Payment, machine=PAYMENT_MACHINE, pks=[p.pk for p in payments],
                                        target=Y.SCHEDULED, actor=actor)
        audit += invoices_transition_bulk(
            invoice_ids=[p.invoice_id for p in payments], to=Invoice.State.SCHEDULED, actor=actor,
            reason=f"Scheduled in payment run “{run.name}” for {run.execution_date.isoformat()}.",
            params={p.invoice_id: {"run_id": run.pk, "payment_id": p.pk} for p in payments},
        )
        LogEntry.objects.bulk_create(audit)
        InvoiceEvent.objects.bulk_create([
            InvoiceEvent(
                invoice_id=payment.invoice_id, kind=InvoiceEvent.Kind.PAYMENT, actor=actor,
                message=f"{payment.amount} {payment.currency} to {payment.bank_account.iban or payment.bank_account.account_number} on {run.execution_date.isoformat()}.",
                params={"run_id": run.pk, "end_to_end_id": payment.end_to_end_id},
            )
            for payment in payments
        ])
        run.file.save(f"payment-run-{run.pk}.{ext}", ContentFile(data), save=False)
        run, _ = locked_transition(machine=PAYMENT_RUN_MACHINE, instance=run, target=R.EXPORTED,
                                   extra_updates={"exported_at": timezone.now(), "file": run.file.name})
    return run


@dataclass
class CamtResult:
    paid: int = 0
    returned: int = 0
    unchanged: int = 0
    unknown: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"Bank statement read: {self.paid} paid, {self.returned} returned, {self.unchanged} unchanged."
        if self.unknown:
            text += f" Not ours: {', '.join(self.unknown[:10])}."
        return text


def camt054_import(*, data: bytes, actor) -> CamtResult:
    """Apply a camt.054 debit notification to scheduled payments; see the module guarantees."""
    try:
        outcomes = payment_outcomes(parse_camt054(data))
    except PaymentFileError as err:
        raise ApplicationError(f"This is not a readable camt.054 file: {err}") from err
    result = CamtResult()
    with transaction.atomic():
        payments = {p.end_to_end_id: p for p in Payment.objects.select_for_update().filter(end_to_end_id__in=outcomes)}
        paid, returned = [], []
        for e2e, outcome in outcomes.items():
            payment = payments.get(e2e)
            if payment is None:
                result.unknown.append(e2e)
            elif outcome == "paid" and payment.state == Y.SCHEDULED:
                paid.append(payment)
            elif outcome == "returned" and payment.state == Y.SCHEDULED:
                returned.append(payment)
            else:  # already applied, or returned after it was paid: no paid → failed move
                result.unchanged += 1
        # Bulk, as the export (see bulk_audit): one statement per table and outcome.
        audit = []
        for group, payment_state, invoice_state, reason, extra in (
            (paid, Y.PAID, Invoice.State.PAID, "Paid: the bank booked {e2e}.", {"paid_at": timezone.now()}),
            (returned, Y.FAILED, Invoice.State.POSTED, "The bank returned payment {e2e}; pay it again.", {}),
        ):
            if not group:
                continue
            audit += rows_transition_bulk(model=Payment, machine=PAYMENT_MACHINE, pks=[p.pk for p in group],
                                          target=payment_state, extra_updates=extra, actor=actor)[1]
            audit += invoices_transition_bulk(
                invoice_ids=[p.invoice_id for p in group], to=invoice_state, actor=actor,
                reasons={p.invoice_id: reason.format(e2e=p.end_to_end_id) for p in group},
                params={p.invoice_id: {"payment_id": p.pk} for p in group},
            )
        LogEntry.objects.bulk_create(audit)
        InvoiceEvent.objects.bulk_create([
            InvoiceEvent(invoice_id=p.invoice_id, kind=InvoiceEvent.Kind.PAYMENT, actor=actor,
                         message=f"Bank statement: payment {p.end_to_end_id} {outcome}.", params={"payment_id": p.pk})
            for group, outcome in ((paid, "paid"), (returned, "returned")) for p in group
        ])
        result.paid, result.returned = len(paid), len(returned)
    return result
