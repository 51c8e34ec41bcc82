"""Approval step, ERP posting, payment run and payment machines: every pair, from the tables."""

from __future__ import annotations

import itertools

import pytest

from apinvoices.exceptions import InvalidTransition
from approvals.states import APPROVAL_STEP_MACHINE
from erp_integration.states import ERP_POSTING_MACHINE, PAYMENT_MACHINE, PAYMENT_RUN_MACHINE

MACHINES = [APPROVAL_STEP_MACHINE, ERP_POSTING_MACHINE, PAYMENT_RUN_MACHINE, PAYMENT_MACHINE]
CASES = [
    (machine, a, b)
    for machine in MACHINES
    for a, b in itertools.product(sorted(machine.states), repeat=2)
]


@pytest.mark.parametrize(("machine", "current", "target"), CASES, ids=lambda v: getattr(v, "model_label", v))
def test_machine_allows_exactly_its_table(machine, current, target):
    if target in machine.table.get(current, ()):
        machine.check(pk=1, current=current, target=target)
    else:
        with pytest.raises(InvalidTransition):
            machine.check(pk=1, current=current, target=target)
