"""The four roles, as Django groups (created by a data migration)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLERK = "AP clerk"
    APPROVER = "Approver"
    ADMIN = "AP admin"
    AUDITOR = "Auditor"


def user_roles(user) -> set[str]:
    """Names of the user's roles; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_ap_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) & {r.value for r in Role}
        if user.is_superuser:
            cached.add(Role.ADMIN.value)
        user._ap_roles = cached
    return cached


def primary_role(user) -> str:
    roles = user_roles(user)
    for role in (Role.ADMIN, Role.CLERK, Role.APPROVER, Role.AUDITOR):
        if role in roles:
            return role.value
    return ""
