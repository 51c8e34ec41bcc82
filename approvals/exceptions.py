"""Domain errors of the approvals app. Tests assert on ``code``, never on the wording."""

from __future__ import annotations

from enum import StrEnum

from apinvoices.exceptions import ApplicationError


class ApprovalErrorCode(StrEnum):
    NOT_APPROVER = "not_approver"
    STEP_NOT_PENDING = "step_not_pending"
    INVOICE_NOT_IN_APPROVAL = "invoice_not_in_approval"
    SEGREGATION_OF_DUTIES = "segregation_of_duties"
    COMMENT_REQUIRED = "comment_required"
    UNKNOWN_DECISION = "unknown_decision"
    BULK_NOT_ALLOWED = "bulk_not_allowed"
    ALREADY_IN_ERP = "already_in_erp"
    CANNOT_REROUTE = "cannot_reroute"
    # E-mail links
    LINK_TAMPERED = "link_tampered"
    LINK_EXPIRED = "link_expired"
    LINK_USED = "link_used"
    LINK_SUPERSEDED = "link_superseded"
    LINK_FOREIGN = "link_foreign"
    LINK_OTHER_SESSION = "link_other_session"
    # Delegation
    DELEGATION_SELF = "delegation_self"
    DELEGATION_DATES = "delegation_dates"
    DELEGATION_CHAIN = "delegation_chain"
    DELEGATION_OVERLAP = "delegation_overlap"
    DELEGATE_INACTIVE = "delegate_inactive"


class ApprovalError(ApplicationError):
    """Raised by approval services; ``code`` is an :class:`ApprovalErrorCode`."""

    code = ApprovalErrorCode.NOT_APPROVER

    def __init__(self, message: str, *, code: ApprovalErrorCode, extra: dict | None = None):
        super().__init__(message, code=code, extra=extra)  # type: ignore[arg-type]
