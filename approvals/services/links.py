"""Signed, single-use e-mail approval links.

A link carries a value signed with ``django.core.signing`` (salted, timestamped) that binds the
step id, the approver id, the action and a random token id. Only the token id's SHA-256 is
stored (``ApprovalToken.token_hash``), so a database leak yields no usable link. Opening a link
never acts; the confirmation page's POST does, once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.exceptions import ApprovalError, ApprovalErrorCode
from approvals.models import ApprovalStep, ApprovalToken

LINK_SALT = "approvals.email-link.v1"
# 32 random bytes: far beyond guessing, and the URL stays short enough for every mail client.
TOKEN_BYTES = 32


def token_hash(token_id: str) -> str:
    return hashlib.sha256(token_id.encode("ascii")).hexdigest()


def link_max_age() -> timedelta:
    return timedelta(days=settings.AP_APPROVAL_LINK_MAX_AGE_DAYS)


def approval_link_create(*, step: ApprovalStep, action: str) -> str:
    """Create one link (a token row plus the signed value) and return its absolute URL.

    The token expires after ``AP_APPROVAL_LINK_MAX_AGE_DAYS``; the signature's own timestamp
    enforces the same age, so a link whose row was tampered with still expires.
    """
    token_id = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    ApprovalToken.objects.create(
        step=step,
        approver_id=step.approver_id,
        action=action,
        token_hash=token_hash(token_id),
        created_at=now,
        expires_at=now + link_max_age(),
    )
    value = signing.dumps({"s": step.pk, "u": step.approver_id, "a": str(action), "t": token_id}, salt=LINK_SALT)
    return settings.AP_BASE_URL.rstrip("/") + reverse("approvals:email_link", kwargs={"signed": value})


@dataclass(frozen=True)
class ResolvedLink:
    step: ApprovalStep
    token: ApprovalToken
    action: str


def approval_link_resolve(*, signed: str, for_update: bool = False) -> ResolvedLink:
    """Check a link and return its step, token and action, or raise ``ApprovalError``.

    Codes: ``link_tampered`` (bad signature, unknown token, fields that disagree),
    ``link_expired``, ``link_used``, ``link_foreign`` (the step now belongs to someone else),
    ``link_superseded`` (the step was decided elsewhere or is no longer open; ``extra`` holds
    the step's state and who decided it). Changes nothing.
    With ``for_update`` the token and step rows are locked (call inside a transaction).
    """
    try:
        payload = signing.loads(signed, salt=LINK_SALT, max_age=link_max_age())
    except signing.SignatureExpired as err:
        raise ApprovalError(_("This approval link has expired."), code=ApprovalErrorCode.LINK_EXPIRED) from err
    except signing.BadSignature as err:
        raise ApprovalError(_("This approval link is not valid."), code=ApprovalErrorCode.LINK_TAMPERED) from err
    if not isinstance(payload, dict) or not {"s", "u", "a", "t"} <= payload.keys():
        raise ApprovalError(_("This approval link is not valid."), code=ApprovalErrorCode.LINK_TAMPERED)

    tokens = ApprovalToken.objects.select_related("approver")
    steps = ApprovalStep.objects.select_related("invoice", "invoice__vendor", "approver", "on_behalf_of", "decided_by")
    if for_update:
        tokens = tokens.select_for_update()
        steps = steps.select_for_update(of=("self",))
    token = tokens.filter(token_hash=token_hash(str(payload["t"]))).first()
    if (
        token is None
        or token.step_id != payload["s"]
        or token.approver_id != payload["u"]
        or token.action != payload["a"]
    ):
        raise ApprovalError(_("This approval link is not valid."), code=ApprovalErrorCode.LINK_TAMPERED)
    if token.used_at is not None:
        raise ApprovalError(
            _("This approval link has already been used."), code=ApprovalErrorCode.LINK_USED,
            extra={"used_at": token.used_at},
        )
    if token.expires_at <= timezone.now():
        raise ApprovalError(_("This approval link has expired."), code=ApprovalErrorCode.LINK_EXPIRED)
    step = steps.get(pk=token.step_id)
    if step.approver_id != token.approver_id:
        raise ApprovalError(
            _("This approval was handed to someone else, so this link no longer works."),
            code=ApprovalErrorCode.LINK_FOREIGN, extra={"step": step},
        )
    if step.state != ApprovalStep.State.PENDING:
        raise ApprovalError(
            _("This approval step is no longer open."), code=ApprovalErrorCode.LINK_SUPERSEDED,
            extra={"step": step},
        )
    return ResolvedLink(step=step, token=token, action=token.action)


def approval_link_decide(
    *, signed: str, comment: str = "", ip_address: str | None = None, user_agent: str = ""
):
    """Decide the link's step as the link's approver, once.

    One transaction: the token is locked and re-checked, marked used, and the decision taken
    through ``approval_step_decide`` (via ``email``). Any refusal (link or decision) raises
    ``ApprovalError`` and leaves the token unused and the step unchanged.
    """
    from approvals.services.decisions import approval_step_decide

    with transaction.atomic():
        link = approval_link_resolve(signed=signed, for_update=True)
        outcome = approval_step_decide(
            step=link.step, actor=link.token.approver, decision=link.action, comment=comment,
            via=ApprovalStep.Via.EMAIL, ip_address=ip_address, user_agent=user_agent,
        )
        ApprovalToken.objects.filter(pk=link.token.pk).update(used_at=timezone.now())
    return outcome
