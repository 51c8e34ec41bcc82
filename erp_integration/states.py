"""Transition tables of ERP postings, payment runs and payments."""

from apinvoices.states import StateMachine
from erp_integration.models import ErpPosting, Payment, PaymentRun

P = ErpPosting.State
ERP_POSTING_TRANSITIONS = {
    P.PENDING: frozenset({P.SENDING, P.CANCELLED}),
    # A worker that died while sending leaves SENDING behind; the retry sends again (the
    # backend's idempotency lookup makes that safe).
    P.SENDING: frozenset({P.POSTED, P.FAILED, P.SENDING}),
    P.FAILED: frozenset({P.SENDING, P.CANCELLED}),
    P.POSTED: frozenset(),
    P.CANCELLED: frozenset(),
}
ERP_POSTING_MACHINE = StateMachine("ERP posting", ERP_POSTING_TRANSITIONS)

R = PaymentRun.State
PAYMENT_RUN_TRANSITIONS = {
    R.DRAFT: frozenset({R.APPROVED, R.CANCELLED}),
    R.APPROVED: frozenset({R.EXPORTED, R.CANCELLED}),
    R.EXPORTED: frozenset(),
    R.CANCELLED: frozenset(),
}
PAYMENT_RUN_MACHINE = StateMachine("payment run", PAYMENT_RUN_TRANSITIONS)

Y = Payment.State
PAYMENT_TRANSITIONS = {
    Y.PROPOSED: frozenset({Y.SCHEDULED, Y.CANCELLED}),
    Y.SCHEDULED: frozenset({Y.PAID, Y.FAILED, Y.CANCELLED}),
    Y.FAILED: frozenset({Y.CANCELLED}),
    Y.PAID: frozenset(),
    Y.CANCELLED: frozenset(),
}
PAYMENT_MACHINE = StateMachine("payment", PAYMENT_TRANSITIONS)
