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
def browser(django_db_setup, django_db_blocker):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set AP_CHROMIUM)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with django_db_blocker.unblock():
        serialized = {
            conn.alias: conn._test_serialized_contents
            for conn in connections.all()
            if hasattr(conn, "_test_serialized_contents")
        }
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        # Under a running loop Django's connection handler (an asgiref thread-critical Local)
        # hands out a second set of connection objects. They lack the snapshot taken at test
        # database creation, so serialized_rollback would silently restore nothing and the
        # role groups of the data migrations would be gone after the first e2e test.
        for alias, contents in serialized.items():
            connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, live_server) -> Iterator:
    # bypass_csp: Playwright's wait_for_function polls with eval inside the page, which our
    # CSP (script-src 'self', no unsafe-eval) refuses; the product's own scripts never need it.
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="en-GB",
                                  bypass_csp=True)
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

