"""Navigation for ``base.html``: the items the user's role may use, and two cheap counts."""

from __future__ import annotations

from dataclasses import dataclass

import rules
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from apinvoices.roles import primary_role
from apinvoices.selectors import inbox_nav_counts


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    icon: str
    # Tried in order: the first URL name that resolves wins, so a page added later replaces
    # its inbox fallback without touching this file. (url name, query string params).
    targets: tuple[tuple[str, dict], ...]
    perm: str = ""
    staff_only: bool = False
    count_key: str = ""


NAV: tuple[NavItem, ...] = (
    NavItem("inbox", _("Inbox"), "▤", (("apinvoices:inbox", {}),), perm="apinvoices.view_inbox",
            count_key="work"),
    NavItem("upload", _("Upload"), "⇪", (("apinvoices:upload", {}),), perm="apinvoices.upload_document"),
    NavItem("exceptions", _("Exceptions"), "⚠",
            (("apinvoices:exception_list", {}), ("apinvoices:inbox", {"state": "exception"})),
            perm="apinvoices.view_inbox", count_key="exceptions"),
    NavItem("approvals", _("Approvals"), "✓",
            (("approvals:my_approvals", {}), ("apinvoices:inbox", {"state": "awaiting_approval"})),
            perm="approvals.use_approvals_page"),
    NavItem("vendors", _("Vendors"), "◫", (("apinvoices:vendor_list", {}),),
            perm="apinvoices.view_vendor"),
    NavItem("payments", _("Payments"), "€",
            (("erp_integration:payment_run_list", {}), ("apinvoices:inbox", {"state": "posted"})),
            perm="apinvoices.view_inbox"),
    NavItem("erp", _("ERP"), "⇄",
            (("erp_integration:posting_list", {}), ("apinvoices:inbox", {"state": "approved"})),
            perm="apinvoices.view_inbox"),
    NavItem("dashboard", _("Dashboard"), "◔", (("apinvoices:dashboard", {}),),
            perm="apinvoices.view_dashboard"),
    NavItem("audit", _("Audit trail"), "⌕", (("apinvoices:audit", {}),), perm="apinvoices.view_audit"),
    NavItem("admin", _("Admin"), "⚙", (("admin:index", {}),), staff_only=True),
)


def _resolve(targets) -> str | None:
    for name, params in targets:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        return f"{url}?{urlencode(params)}" if params else url
    return None


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for item in NAV:
        # The rule set alone decides: asking every auth backend would make ModelBackend load
        # all of the user's permissions (two queries) whenever one answer is no.
        if item.perm and not rules.has_perm(item.perm, user):
            continue
        if item.staff_only and not user.is_staff:
            continue
        url = _resolve(item.targets)
        if url is None:
            continue
        items.append({"key": item.key, "label": item.label, "icon": item.icon, "url": url,
                      "count_key": item.count_key})
    counts = inbox_nav_counts() if any(i["count_key"] for i in items) else {}
    for entry in items:
        entry["count"] = counts.get(entry["count_key"]) if entry["count_key"] else None
    current = _current_key(request, items)
    return {"nav_items": items, "nav_current": current, "user_role": primary_role(user)}


def _current_key(request, items) -> str:
    """The nav entry whose URL best matches this request (path and the ``state`` filter)."""
    path = request.path
    state = request.GET.get("state", "")
    best, best_score = "", -1
    for entry in items:
        url_path, _sep, query = entry["url"].partition("?")
        if not path.startswith(url_path) or (url_path == "/" and path != "/"):
            continue
        wanted_state = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("state", "")
        if wanted_state and wanted_state != state:
            continue
        score = len(url_path) + (10 if wanted_state else 0)
        if score > best_score:
            best, best_score = entry["key"], score
    if not best and getattr(request.resolver_match, "namespace", "") == "apinvoices":
        best = "inbox"  # an invoice or document page belongs to the inbox section
    return best
