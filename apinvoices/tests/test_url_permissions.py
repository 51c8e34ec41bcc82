"""Every URL of the project, requested as every role, against an explicit table.

A URL that the table does not cover fails the walk: a new page must state who may open it.
Admin URLs are covered by a representative subset (index and every changelist).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apinvoices.tests.world import World, build_world

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "clerk", "approver", "admin", "auditor", "outsider")


def row(spec: str) -> dict[str, int]:
    """``"302 200 403 200 200 403"`` -> status per role, in ``ROLES`` order."""
    codes = [int(c) for c in spec.split()]
    assert len(codes) == len(ROLES), spec
    return dict(zip(ROLES, codes, strict=True))


@dataclass(frozen=True)
class Expect:
    get: dict[str, int]
    post: dict[str, int] | None = None
    kwargs: Callable[[World], dict] = field(default=lambda world: {})
    # Status for a logged-in clerk when the object in the URL does not exist.
    missing: int | None = None


#                 anon clerk approver admin auditor outsider
LOGGED_IN_ONLY_405 = row("302 405 405 405 405 405")
STAFF_AND_AUDITOR = row("302 200 403 200 200 403")
AUDIT_ONLY = row("302 403 403 200 200 403")
_invoice = lambda w: {"pk": w.invoice.pk}  # noqa: E731
_document = lambda w: {"pk": w.document.pk}  # noqa: E731
_step = lambda w: {"pk": w.step.pk}  # noqa: E731
_run = lambda w: {"pk": w.invoice.payments.get().run_id}  # noqa: E731
_payment = lambda w: {"pk": w.invoice.payments.get().pk}  # noqa: E731
_posting = lambda w: {"pk": w.invoice.erp_postings.get().pk}  # noqa: E731


def _exception(world: World) -> dict:
    from apinvoices.models import InvoiceException

    return {"pk": InvoiceException.objects.filter(invoice=world.invoice).order_by("pk").first().pk}


def _account(world: World) -> dict:
    from apinvoices.models import VendorBankAccount

    return {"pk": VendorBankAccount.objects.filter(vendor_id=world.invoice.vendor_id).order_by("pk").first().pk}


EXPECTATIONS: dict[str, Expect] = {
    "login": Expect(get=row("200 200 200 200 200 200")),
    "logout": Expect(get=LOGGED_IN_ONLY_405, post=row("302 302 302 302 302 302")),
    "apinvoices:inbox": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    "apinvoices:invoice_detail": Expect(get=STAFF_AND_AUDITOR, kwargs=_invoice, missing=404),
    "apinvoices:invoice_void": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404
    ),
    # The world's invoice was read: a clerk's "Read again" is refused with a message.
    "apinvoices:invoice_extract_again": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404
    ),
    "apinvoices:document_original": Expect(get=STAFF_AND_AUDITOR, kwargs=_document, missing=404),
    # An empty POST renders the page with no results; uploading is for clerks and AP admins.
    "apinvoices:upload": Expect(get=row("302 200 403 200 403 403"), post=row("302 200 403 200 403 403")),
    # Not waiting for a password: the clerk is sent back to the invoice with a message.
    "apinvoices:invoice_password": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404
    ),
    # The world's original is not a renderable PDF: past the permission check it is a 404
    # (rendering real PDFs is covered in apinvoices/tests/review/test_views_review.py).
    "apinvoices:document_page": Expect(
        get=row("302 404 403 404 404 403"), kwargs=lambda w: {"pk": w.document.pk, "page": 1}
    ),
    "apinvoices:invoice_field_edit": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"),
        kwargs=lambda w: {"pk": w.invoice.pk, "name": "po_number"},
    ),
    # Editable lines and tax breakdown: an empty POST is refused (or changes nothing) with a
    # message and a redirect back; edit rows come before delete rows (the walk deletes them).
    "apinvoices:invoice_line_add": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404
    ),
    "apinvoices:invoice_line_edit": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"),
        kwargs=lambda w: {"pk": w.invoice.pk, "line_pk": w.invoice.lines.get().pk},
    ),
    "apinvoices:invoice_line_delete": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"),
        kwargs=lambda w: {"pk": w.invoice.pk, "line_pk": w.invoice.lines.get().pk},
    ),
    "apinvoices:invoice_tax_add": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404
    ),
    "apinvoices:invoice_tax_edit": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"),
        kwargs=lambda w: {"pk": w.invoice.pk, "tax_pk": w.invoice.taxes.get().pk},
    ),
    "apinvoices:invoice_tax_delete": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"),
        kwargs=lambda w: {"pk": w.invoice.pk, "tax_pk": w.invoice.taxes.get().pk},
    ),
    # The world's original is not a PDF that can be read: past the permission check, a 404.
    "apinvoices:document_page_words": Expect(
        get=row("302 404 403 404 404 403"), kwargs=lambda w: {"pk": w.document.pk, "page": 1}
    ),
    # An empty POST (no click position) is refused with a message and a redirect back.
    "apinvoices:invoice_field_pick": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"),
        kwargs=lambda w: {"pk": w.invoice.pk, "name": "invoice_number"},
    ),
    "apinvoices:invoice_exceptions": Expect(get=STAFF_AND_AUDITOR, kwargs=_invoice, missing=404),
    "apinvoices:invoice_send": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404
    ),
    "apinvoices:invoice_duplicate": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404
    ),
    # "n" on the review screen: a redirect to the next invoice of the clerk's queue.
    "apinvoices:invoice_next": Expect(get=row("302 302 403 302 403 403"), kwargs=_invoice, missing=404),
    "apinvoices:exception_list": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    "apinvoices:exception_bulk_dismiss": Expect(get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403")),
    # A closed exception or a missing reason is refused with a message; the clerk is redirected.
    "apinvoices:exception_resolve": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_exception, missing=404
    ),
    "apinvoices:exception_dismiss": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_exception, missing=404
    ),
    "apinvoices:vendor_list": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    "apinvoices:vendor_detail": Expect(get=STAFF_AND_AUDITOR, kwargs=lambda w: {"pk": w.invoice.vendor_id}, missing=404),
    "apinvoices:bank_account_verify": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_account, missing=404
    ),
    "apinvoices:bank_account_reject": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_account, missing=404
    ),
    "apinvoices:dashboard": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    "apinvoices:export_inbox_csv": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    "apinvoices:export_exceptions_csv": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    # The audit trail is for auditors and AP admins; clerks work invoices, they do not audit them.
    "apinvoices:audit": Expect(get=AUDIT_ONLY, post=LOGGED_IN_ONLY_405),
    "apinvoices:invoice_history": Expect(get=AUDIT_ONLY, post=LOGGED_IN_ONLY_405, kwargs=_invoice,
                                         missing=404),
    "apinvoices:invoice_history_csv": Expect(get=AUDIT_ONLY, kwargs=_invoice, missing=404),
    # Everyone signed in has a (possibly empty) list of their own approvals.
    "approvals:my_approvals": Expect(get=row("302 200 200 200 200 200"), post=LOGGED_IN_ONLY_405),
    # The step belongs to the second approver: the first approver and outsiders may not see it.
    "approvals:step": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405, kwargs=_step, missing=404),
    "approvals:step_decide": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 400 403 400 400 403"), kwargs=_step, missing=404
    ),
    "approvals:bulk_approve": Expect(get=LOGGED_IN_ONLY_405, post=row("302 302 302 302 302 302")),
    "approvals:delegation": Expect(get=row("302 403 200 200 403 403"), post=row("302 403 400 400 403 403")),
    # Signed e-mail links work without a login; a tampered one is refused for everybody.
    "approvals:email_link": Expect(
        get=row("400 400 400 400 400 400"), post=row("400 400 400 400 400 400"),
        kwargs=lambda w: {"signed": "not-a-signed-value"},
    ),
    # ERP pages: clerks and AP admins act, auditors read.
    "erp_integration:posting_list": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    "erp_integration:posting_detail": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405, kwargs=_posting, missing=404),
    # The world's posting is pending, so a clerk's retry is refused with a message and a redirect.
    "erp_integration:posting_retry": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_posting, missing=404
    ),
    "erp_integration:erp_sync": Expect(get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403")),
    "erp_integration:payment_run_list": Expect(get=STAFF_AND_AUDITOR, post=LOGGED_IN_ONLY_405),
    # An empty proposal form is refused with a message and a redirect.
    "erp_integration:payment_run_create": Expect(get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403")),
    "erp_integration:payment_run_detail": Expect(get=STAFF_AND_AUDITOR, kwargs=_run, missing=404),
    # The clerk proposed the world's run: their approval is refused (four eyes) with a message;
    # the AP admin's goes through. Either way a redirect back to the run.
    "erp_integration:payment_run_approve": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_run, missing=404
    ),
    # No file before export: 404 for those allowed to download, 403 for the others.
    "erp_integration:payment_run_download": Expect(get=row("302 404 403 404 403 403"), kwargs=_run, missing=404),
    "erp_integration:payment_remove": Expect(
        get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403"), kwargs=_payment, missing=404
    ),
    "erp_integration:camt054_upload": Expect(get=LOGGED_IN_ONLY_405, post=row("302 302 403 302 403 403")),
}
ADMIN_NAMESPACE = "admin"
ADMIN_EXPECTED = row("302 302 302 200 302 302")  # only staff (the AP admin) get in
PUBLIC = {"login", "admin:login", "approvals:email_link"}


def iter_url_names(resolver=None, namespace: str = "") -> Iterator[tuple[str, str]]:
    """Yield (qualified name, route) for every pattern, descending into includes."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(p for p in (namespace, pattern.namespace) if p)
            for name, route in iter_url_names(pattern, inner):
                yield name, f"{pattern.pattern}{route}"
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name or f"{namespace}:<unnamed>", str(pattern.pattern)


def _user(cast, role):
    return None if role == "anonymous" else getattr(cast, role)


def _client_for(client, cast, role):
    user = _user(cast, role)
    if user is not None:
        client.force_login(user)
    return client


def test_every_url_is_in_the_expectation_table():
    names = {name for name, _route in iter_url_names()}
    project = {n for n in names if not n.startswith(f"{ADMIN_NAMESPACE}:")}

    assert project - set(EXPECTATIONS) == set(), "add these URLs to EXPECTATIONS"
    assert set(EXPECTATIONS) - project == set(), "these EXPECTATIONS name no URL any more"
    assert f"{ADMIN_NAMESPACE}:index" in names


def _check(response, expected: int, role: str, url: str) -> str | None:
    if response.status_code != expected:
        return f"{role} {response.request['REQUEST_METHOD']} {url}: {response.status_code}, expected {expected}"
    # LoginRequiredMiddleware sends anonymous users to the product's login page, admin included.
    if role == "anonymous" and expected == 302 and url != reverse("logout"):
        logins = (f"{reverse('login')}?next=", f"{reverse('admin:login')}?next=")
        if not response["Location"].startswith(logins):
            return f"anonymous {url}: redirected to {response['Location']}, not to the login page"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_url_permission_walk(client, cast, role):
    world = build_world(cast)
    _client_for(client, cast, role)
    failures = []
    for name, expect in EXPECTATIONS.items():
        url = reverse(name, kwargs=expect.kwargs(world))
        failures.append(_check(client.get(url), expect.get[role], role, url))
        if expect.post is not None:
            failures.append(_check(client.post(url), expect.post[role], role, url))
        # Logging out ends the session; log in again for the rest of the walk.
        _client_for(client, cast, role)
    assert [f for f in failures if f] == []


def test_urls_of_missing_objects_are_404(client, cast):
    client.force_login(cast.clerk)
    for name, expect in EXPECTATIONS.items():
        if expect.missing is None:
            continue
        url = reverse(name, kwargs={"pk": 999_999})
        method = client.get if expect.get["clerk"] != 405 else client.post
        assert method(url).status_code == expect.missing, url


OUR_APPS = {"apinvoices", "approvals", "erp_integration"}


def _admin_urls() -> list[tuple[str, dict[str, int]]]:
    """The admin index and every changelist. The AP admin role holds the permissions of our three
    apps only (migration apinvoices 0002): users, groups, tasks and auditlog stay superuser work."""
    urls = [(reverse("admin:index"), ADMIN_EXPECTED)]
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        expected = ADMIN_EXPECTED if model._meta.app_label in OUR_APPS else {**ADMIN_EXPECTED, "admin": 403}
        urls.append((url, expected))
    return urls


@pytest.mark.parametrize("role", ROLES)
def test_admin_subset_permission_walk(client, cast, role):
    build_world(cast)
    _client_for(client, cast, role)
    failures = [_check(client.get(url), expected[role], role, url) for url, expected in _admin_urls()]
    assert [f for f in failures if f] == []


def test_admin_login_page_is_public(client):
    assert client.get(reverse("admin:login")).status_code == 200
