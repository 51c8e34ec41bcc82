"""Object permissions of the approvals app (django-rules, autodiscovered)."""

from __future__ import annotations

import rules

from apinvoices.rules import is_ap_admin, is_approver, is_auditor, is_staff_role
from approvals.models import ApprovalStep


@rules.predicate
def is_step_approver(user, step) -> bool:
    return step is not None and getattr(user, "is_authenticated", False) and step.approver_id == user.pk


@rules.predicate
def is_step_principal(user, step) -> bool:
    return step is not None and getattr(user, "is_authenticated", False) and step.on_behalf_of_id == user.pk


@rules.predicate
def step_is_pending(user, step) -> bool:
    return step is not None and step.state == ApprovalStep.State.PENDING


# Anyone signed in has a "my approvals" list (a delegate need not hold the approver role);
# it only ever shows the user's own steps.
rules.add_perm("approvals.view_my_approvals", rules.is_authenticated)
rules.add_perm("approvals.view_step", is_step_approver | is_step_principal | is_staff_role | is_auditor)
rules.add_perm("approvals.decide_step", is_step_approver & step_is_pending)
rules.add_perm("approvals.manage_delegation", is_approver | is_ap_admin)
rules.add_perm("approvals.use_approvals_page", is_approver | is_staff_role | is_ap_admin)
