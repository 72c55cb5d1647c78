"""Browser tests: pytest-django's ``live_server`` and Playwright (sync API) driving a real headless Chromium.

Playwright's sync API keeps an asyncio loop running in this thread, and Django refuses ORM calls from a
thread with a running loop; the tests call the ORM only between browser steps, so the check
(DJANGO_ALLOW_ASYNC_UNSAFE) is off while the browser runs, and only then.
Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, missing_service

# 127.0.0.1 is in the default ALLOWED_HOSTS; port 0 lets the OS pick a free port on this shared machine.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEFAULT_TIMEOUT_MS = 15_000


def _is_favicon(location: dict) -> bool:
    """Chromium asks for /favicon.ico on its own; the site has none (yet), which is not a page error."""
    return str(location.get("url", "")).endswith("/favicon.ico")


@pytest.fixture(autouse=True)
def _e2e_transactional_db(transactional_db):
    """The live server runs in another thread: it sees only committed data."""


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the browser tests, closed when they are done."""
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing_service(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("Playwright is not installed")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # while Playwright's loop runs in this thread
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium_path, browser, live_server):
    """A fresh browser context (no cookies) with an English browser, and its page."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900},
                                  extra_http_headers={"Accept-Language": "en"})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page.failed_responses = []
    page.console_errors = []
    page.on("response", lambda response: response.status >= 400 and page.failed_responses.append(
        f"{response.status} {response.url}"))
    page.on("console", lambda message: message.type == "error" and not _is_favicon(message.location)
            and page.console_errors.append(f"{message.text} ({message.location.get('url')})"))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") → test-artifacts/name.png (full page)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
