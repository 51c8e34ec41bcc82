"""Demo data: users in each role, vendors, purchase orders and invoices from generated documents.

Idempotent: running it again neither fails nor duplicates anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apinvoices.roles import Role


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role
    full_name: str
    is_staff: bool = False


# Fixed, documented demo passwords: this data is for trying the product locally only.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("clerk", "clerk-demo-pass", Role.CLERK, "Clara Clerk"),
    DemoUser("clerk2", "clerk2-demo-pass", Role.CLERK, "Carl Second-Clerk"),
    DemoUser("approver", "approver-demo-pass", Role.APPROVER, "Anna Approver"),
    DemoUser("approver2", "approver2-demo-pass", Role.APPROVER, "Ben Second-Approver"),
    DemoUser("apadmin", "apadmin-demo-pass", Role.ADMIN, "Ada Admin", is_staff=True),
    DemoUser("auditor", "auditor-demo-pass", Role.AUDITOR, "Otto Auditor"),
)


@transaction.atomic
def demo_users_ensure() -> list[tuple[DemoUser, bool]]:
    """Create the demo users (or reset their role and password). Returns (user, created) pairs."""
    User = get_user_model()
    result = []
    for spec in DEMO_USERS:
        first, _, last = spec.full_name.partition(" ")
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={"first_name": first, "last_name": last, "email": f"{spec.username}@example.test"},
        )
        user.set_password(spec.password)
        user.is_staff = spec.is_staff
        user.save()
        user.groups.add(Group.objects.get(name=spec.role.value))
        result.append((spec, created))
    return result
