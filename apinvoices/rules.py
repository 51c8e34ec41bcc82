"""The one object-permission layer (django-rules). Views and templates ask ``has_perm``.

Role predicates read the user's groups once per request (see ``roles.user_roles``).
"""

from __future__ import annotations

import rules

from apinvoices.roles import Role, user_roles


def _role(role: Role):
    @rules.predicate(name=f"is_{role.name.lower()}")
    def has_role(user) -> bool:
        return role.value in user_roles(user)

    return has_role


is_clerk = _role(Role.CLERK)
is_approver = _role(Role.APPROVER)
is_ap_admin = _role(Role.ADMIN)
is_auditor = _role(Role.AUDITOR)
is_staff_role = is_clerk | is_ap_admin


@rules.predicate
def is_assigned_approver(user, invoice) -> bool:
    """The user holds (or held) an approval step on this invoice, directly or by delegation."""
    if invoice is None or not getattr(user, "is_authenticated", False):
        return False
    from django.db.models import Q

    return invoice.approval_steps.filter(Q(approver=user) | Q(on_behalf_of=user)).exists()


@rules.predicate
def invoice_of_document_visible(user, document) -> bool:
    invoice = getattr(document, "invoice", None) if document is not None else None
    if invoice is None:
        return False
    return bool(is_assigned_approver(user, invoice))


# Lists and pages
rules.add_perm("apinvoices.view_inbox", is_staff_role | is_auditor)
rules.add_perm("apinvoices.upload_document", is_staff_role)
rules.add_perm("apinvoices.view_vendor", is_staff_role | is_auditor)
rules.add_perm("apinvoices.change_vendor", is_staff_role)
rules.add_perm("apinvoices.verify_bank_account", is_staff_role)
rules.add_perm("apinvoices.view_dashboard", is_staff_role | is_auditor)
rules.add_perm("apinvoices.view_audit", is_ap_admin | is_auditor)

# One invoice
rules.add_perm("apinvoices.view_invoice", is_staff_role | is_auditor | is_assigned_approver)
rules.add_perm("apinvoices.view_document", is_staff_role | is_auditor | invoice_of_document_visible)
rules.add_perm("apinvoices.edit_invoice", is_staff_role)
rules.add_perm("apinvoices.send_to_approval", is_staff_role)
rules.add_perm("apinvoices.void_invoice", is_staff_role)
rules.add_perm("apinvoices.work_exception", is_staff_role)
