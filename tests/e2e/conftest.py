"""Browser tier: Debian's Chromium driven by Playwright against pytest-django's live_server.

Playwright's sync API keeps an asyncio loop running in the main thread for as long as the
browser lives, and Django refuses ORM calls under a running loop. So this tier (and only this
tier) sets DJANGO_ALLOW_ASYNC_UNSAFE, and e2e tests are moved to the end of the run so that no
ordinary test shares a process with a live loop (xdist hands tests out in collection order).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("AP_CHROMIUM", "/usr/bin/chromium")
# NOTES.md: Debian's chromium headless with these flags; no browser download is possible here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1366, "height": 768}  # the finance team's typical laptop
PASSWORD = "correct-horse-battery"  # UserFactory's password


def pytest_collection_modifyitems(session, config, items):
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    if e2e:
        rest = [item for item in items if not item.get_closest_marker("e2e")]
        items[:] = rest + e2e


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set AP_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login_as(page, live_server) -> Callable:
    """Log in through the real login form; returns the page, now on the landing page."""

    def login(user, password: str = PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        return page

    return login


@pytest.fixture
def screenshot(page, artefacts_dir, request) -> Callable[[str], Path]:
    """Save a full-viewport PNG as test-artefacts/screenshots/<test>[-<name>].png."""
    folder = artefacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(name: str = "", *, full_page: bool = False) -> Path:
        path = folder / (f"{base}-{name}.png" if name else f"{base}.png")
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture(scope="session")
def _roles_migration_apps():
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return loader.project_state(("apinvoices", "0002_roles_and_defaults")).apps


@pytest.fixture(autouse=True)
def _base_rows_present(request, _roles_migration_apps):
    """Make sure content types, permissions and the role groups exist for every browser test.

    serialized_rollback cannot restore them here: once Playwright's loop runs in the main
    thread, Django's connection handler hands out a fresh connection object that lacks the
    serialized snapshot. So after any transactional test flushed the database (in this xdist
    worker), the rows the migrations created would be gone. Recreating them is idempotent.
    """
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.contrib.contenttypes.models import ContentType
    from django.core.management.sql import emit_post_migrate_signal

    ContentType.objects.clear_cache()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    roles = import_module("apinvoices.migrations.0002_roles_and_defaults")
    roles.create_roles(_roles_migration_apps, None)
    ContentType.objects.clear_cache()
