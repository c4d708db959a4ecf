"""Headless Chromium (Debian's package) driven by Playwright, against the live server."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.support.services import ROOT, unavailable

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Playwright's sync API keeps an event loop running in this thread; the ORM calls the tests
# make between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# WCAG 2.2 AA and axe's best practices (landmarks, headings): every violation fails, whatever
# its impact, minor and moderate included.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        unavailable(f"needs Chromium at {CHROMIUM} (Debian package 'chromium')")
    if not AXE.exists():
        unavailable("needs axe-core: run `npm ci`")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    # The live server serves static files from the finders, so use unhashed names here.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    watch_console(page, live_server.url)
    yield page
    violations = list(page.th_csp_violations)
    context.close()
    # Any Content-Security-Policy violation fails the test, whether or not it asked for the
    # console: a blocked script or style is a page that does not work as written.
    assert not violations, f"Content-Security-Policy violations: {violations}"


def watch_console(page, origin: str) -> None:
    """Keep every console error and uncaught exception, for `console_errors` to report. A
    file from elsewhere that cannot load (the NHS.UK font, offline here) is not ours, and
    the page itself coming back 400 with its errors is what a form does."""
    page.th_console_errors = []
    page.th_csp_violations = []

    def on_violation(source, report: str) -> None:
        page.th_csp_violations.append(report)
        page.th_console_errors.append(f"CSP violation: {report}")

    # Every frame reports each violation of the Content-Security-Policy it meets.
    page.expose_binding("__thCspViolation", on_violation)
    page.add_init_script(CSP_LISTENER)

    def on_console(message) -> None:
        if message.type != "error":
            return
        if "Content Security Policy" in message.text:
            # Also reported by the listener; kept here for frames where no script may run.
            page.th_csp_violations.append(message.text)
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource") and (
            not url.startswith(origin) or url == page.url
        ):
            return
        page.th_console_errors.append(f"{message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.th_console_errors.append(str(error)))


CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__thCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
      `at ${event.sourceFile}:${event.lineNumber} on ${document.location.pathname}`
  );
});
"""


def console_errors(page) -> list[str]:
    return list(getattr(page, "th_console_errors", []))


def axe_violations(page) -> list[dict]:
    # Evaluated through the browser's debugging protocol, not added as an inline script the
    # page's Content-Security-Policy would (rightly) refuse.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [node["target"] for node in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]


def assert_accessible(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, f"{name}: " + json.dumps(violations, indent=1)
    errors = console_errors(page)
    assert not errors, f"{name}: console errors: {errors}"


def sign_in(page, live_server, user) -> None:
    """Sign the browser in as a member of staff, through a session made by Django's client."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
