"""Real headless Chromium against a live test server (pytest-django's `live_server`).

Playwright's own browser builds are not installed: the tests drive the system Chromium
(`chromium` on PATH, e.g. Debian's package). Without it the tests are skipped locally and
fail in CI (env CI set), so a CI machine that lost its browser cannot pass silently.

Celery runs eagerly for these tests even when REDIS_URL points at a real broker: they check
what the user sees after an action, not the broker, and an eager recompute finishes inside
the request that completed the event, so no polling is needed.

On failure a full-page screenshot is saved to $BROWSER_SCREENSHOT_DIR (default: a
"ror-browser-screenshots" folder in the system temp directory) and its path is printed.
"""

import importlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.db import connections

from tests.conftest import PERSONA_PASSWORD

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browser_settings(settings, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself (fixtures, assertions) are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    settings.LANGUAGE_CODE = "en"
    return settings


@pytest.fixture
def default_scoring_profile(transactional_db):
    """The active profile v1 of the data migration. A transactional test ends with a flush
    that empties every table, so a later one would find no profile to score with."""
    from django.apps import apps

    migration = importlib.import_module("scoring.migrations.0002_default_scoring_profile")
    migration.create_default_profile(apps, None)


@pytest.fixture
def page(request, live_server, browser_settings, default_scoring_profile, tmp_path):
    executable = chromium_path()
    if executable is None:
        message = "No chromium on PATH (install Debian's chromium package, or set CHROMIUM_PATH)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile per test: no cookies, no language left over
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            locale="en-US",
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(15_000)
        browser_page = context.new_page()
        browser_page.base_url = live_server.url
        # Chromium reports what the Content Security Policy blocked on the console: every page
        # a browser test visits must work under the policy (checked after the test).
        csp_violations: list[str] = []
        browser_page.on("console", lambda message: csp_violations.append(f"{browser_page.url}: {message.text}")
                        if "Content Security Policy" in message.text else None)
        try:
            yield browser_page
        finally:
            failed = getattr(request.node, "report_call", None)
            if failed is not None and failed.failed:
                folder = Path(os.environ.get("BROWSER_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "ror-browser-screenshots")
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / (re.sub(r"[^\w.-]+", "_", request.node.nodeid) + ".png")
                try:
                    browser_page.screenshot(path=str(target), full_page=True)
                    print(f"\nScreenshot of the failed browser test: {target}")  # noqa: T201
                except Exception as exc:  # the failure itself matters more than its picture
                    print(f"\nNo screenshot: {exc}")  # noqa: T201
            context.close()
            # Django's connections are context-local, and Playwright's sync API runs this test
            # in a context of its own: close the connection the test opened in it, or it stays
            # open to the end of the session and keeps the test database from being dropped.
            connections.close_all()
    if csp_violations:
        pytest.fail("Blocked by the Content Security Policy:\n" + "\n".join(csp_violations))


@pytest.fixture
def login(page):
    """Log a persona (tests/conftest.py) in through the admin login form."""

    def log_in(user) -> None:
        page.goto(f"{page.base_url}/admin/login/?next=/admin/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", PERSONA_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")

    return log_in
