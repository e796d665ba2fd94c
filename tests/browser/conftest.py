"""Playwright driving Debian's Chromium against pytest-django's live server on loopback.

Playwright's sync API runs an event loop in this thread, which Django's ORM refuses without
DJANGO_ALLOW_ASYNC_UNSAFE; the tests use the ORM only to set up data, never concurrently.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "browser-test-password-2026"


@pytest.fixture(autouse=True)
def _plain_http_cookies(settings):
    # The live server speaks plain HTTP on loopback; production cookies are HTTPS-only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        message = f"browser tests need Chromium at {CHROMIUM} (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing browser is a broken build, not a skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshot():
    """screenshot(page, name): a full-page PNG under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        target = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return take


@pytest.fixture
def signed_in(chromium, live_server):
    """signed_in(username) -> a page of a new browser context, logged in through the form."""
    contexts = []
    # Every page must work under the production Content-Security-Policy (no inline scripts):
    # the browser reports each violation on the console, and any one fails the test.
    violations: list[str] = []

    def sign_in(username: str, password: str = PASSWORD):
        context = chromium.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(15_000)
        context.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")
        return page

    yield sign_in
    for context in contexts:
        context.close()
    assert violations == [], violations
