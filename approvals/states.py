"""Transition table of an approval step (see ``apinvoices.states`` for the engine)."""

from apinvoices.states import StateMachine
from approvals.models import ApprovalStep

S = ApprovalStep.State

APPROVAL_STEP_TRANSITIONS = {
    S.WAITING: frozenset({S.PENDING, S.SUPERSEDED}),
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.SUPERSEDED}),
    S.APPROVED: frozenset({S.SUPERSEDED}),  # the invoice was edited and routed again
    S.REJECTED: frozenset(),
    S.SUPERSEDED: frozenset(),
}

APPROVAL_STEP_MACHINE = StateMachine("approval step", APPROVAL_STEP_TRANSITIONS)
