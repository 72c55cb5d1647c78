"""Content-Security-Policy in Chromium: every page an administrator can reach by links (and the login page, the
admin site, the rule builder, the language menu) loads with no CSP violation and no console error, scripts come only
from this site, and the widgets that used to be inline scripts still work."""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_seed
from tests.e2e.test_login_dashboard import log_in, switch_language

pytestmark = pytest.mark.browser

# Links the crawl does not follow: downloads, logging out, the admin and the API docs (their own tests below).
SKIP = ("/logout/", "/admin/", "/static/", "/media/", "/api/", "/i18n/")
DOWNLOAD_HINTS = (".csv", ".xlsx", "/export", "download", "/file/")
MAX_PAGES = 150
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " at " + event.sourceFile + ":"
                    + event.lineNumber);
});
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def _same_site_links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    found = []
    for href in hrefs:
        url = urljoin(page.url, href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != base or parts.path.startswith(SKIP):
            continue
        if any(hint in parts.path for hint in DOWNLOAD_HINTS):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


@pytest.fixture
def demo(db):
    demo_seed(customers=300, days=35, seed=11, end=timezone.localdate() - timedelta(days=1), merchants=12)


def test_every_linked_page_loads_without_a_csp_violation(page, live_server, demo):
    page.context.add_init_script(WATCH)
    response = page.goto(live_server.url + "/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert _violations(page) == []

    log_in(page, live_server, "admin", DEMO_PASSWORD)
    expect(page.get_by_test_id("whoami")).to_be_visible()
    seen, queue, problems = set(), deque(["/"]), []
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        page.console_errors.clear()
        answer = page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        if answer is not None and "content-security-policy" not in answer.headers:
            problems.append(f"{path}: no Content-Security-Policy header")
        problems += [f"{path}: {violation}" for violation in _violations(page)]
        problems += [f"{path}: {error}" for error in page.console_errors if "Content Security Policy" in error]
        queue.extend(link for link in _same_site_links(page, live_server.url) if link not in seen)

    assert problems == []
    assert len(seen) >= 40, sorted(seen)  # the crawl did reach the application, not only the home page


def test_the_admin_site_loads_without_a_csp_violation(page, live_server, demo):
    page.context.add_init_script(WATCH)
    log_in(page, live_server, "admin", DEMO_PASSWORD)
    expect(page.get_by_test_id("whoami")).to_be_visible()

    for path in ["/admin/", "/admin/accounts/staff/", "/admin/accounts/staff/add/", "/admin/products/ticket/",
                 "/admin/axes/accessattempt/", "/admin/accounts/apitoken/"]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert _violations(page) == [], path


def test_widgets_that_were_inline_scripts_still_work(page, live_server, demo):
    page.context.add_init_script(WATCH)
    log_in(page, live_server, "admin", DEMO_PASSWORD)
    expect(page.get_by_test_id("whoami")).to_be_visible()

    # The language menu submits itself.
    switch_language(page, "zh-hans")
    switch_language(page, "en")

    # The rule builder mounts and previews the size as you edit.
    page.goto(live_server.url + "/users/segments/")
    expect(page.get_by_test_id("rb-tree")).not_to_be_empty()
    expect(page.get_by_test_id("rb-size")).to_contain_text("Customers matching now:")

    # A new API token can be copied (the copy button is a static script too).
    page.goto(live_server.url + "/account/tokens/")
    page.get_by_test_id("new-token-button").click()
    expect(page.get_by_test_id("token-secret")).to_contain_text("tok_")
    # static/js/copy-secret.js comes at the end of <body>: before the load event the button has no handler yet, and
    # a violation it caused would not have been reported when the check below reads it.
    page.wait_for_load_state("load")
    page.get_by_test_id("copy-token").click()

    assert _violations(page) == []
    assert [error for error in page.console_errors if "Content Security Policy" in error] == []


def test_the_api_docs_render_from_this_site_alone_without_a_csp_violation(page, live_server, demo):
    """Swagger UI from drf-spectacular-sidecar: it draws the operations, and no request leaves this site."""
    page.context.add_init_script(WATCH)
    elsewhere = []
    page.on("request", lambda request: None if request.url.startswith(live_server.url)
            else elsewhere.append(request.url))
    log_in(page, live_server, "admin", DEMO_PASSWORD)
    expect(page.get_by_test_id("whoami")).to_be_visible()

    page.goto(live_server.url + "/api/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=30_000)
    expect(page.locator(".swagger-ui")).to_contain_text("Ops Platform API")

    assert elsewhere == []
    assert _violations(page) == []
    assert [error for error in page.console_errors if "Content Security Policy" in error] == []
