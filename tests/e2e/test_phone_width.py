"""Every page at phone width (390 × 844): no sideways page scroll, in English and Chinese, for an administrator and
for a merchant operator (the role that works in the field).

The pages come from the URLconf, not from a crawl or a hand-kept list: every pattern outside /api/ and /admin/ is
asked for with GET once, with placeholder ids. An answer of 405 is an action (a form posts there), not a page. The
others are pages: their ids are taken from the demo data (``PARAMETERS``), and each is opened in Chromium, where
``document.documentElement.scrollWidth`` must not exceed ``innerWidth``. A failure names the page and the element that
sticks out furthest. Patterns that are not pages to look at are skipped with the reason: by route (``SKIPS``) or by
its beginning or end (a board's fragments, the downloads). A GET pattern that is neither skipped nor fillable from the
data fails the test, so a new page cannot be missed silently. One browser context per role; the failures of all pages
are collected before the test fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time, timedelta

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from playwright.sync_api import expect

from analytics.models import IngestKey
from analytics.services.keys import ingest_key_create
from desk.models import AlertRule, Digest
from goals.models import Goal, Team, TeamMembership
from insights.models import Dashboard, DashboardTile, Insight, Subscription, Visibility
from insights.services.dashboards import dashboard_create, tile_add
from insights.services.insights import insight_create
from insights.services.subscriptions import subscription_create
from merchants.models import Campaign, CampaignInvite, Course, Merchant, RecruitmentTarget, TrainingSession
from ops_platform.accounts.models import Staff
from ops_platform.core.roles import Role
from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_seed
from products.models import Ticket
from tests.conftest import PASSWORD
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS
from tests.e2e.test_login_dashboard import log_in, switch_language
from users.models import CouponCampaign, Customer, Segment

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}
LANGUAGES = ("en", "zh-hans")
ROLES = ("admin", "merchant_ops")  # every page, and the role that works in the field (403 pages included)

# Patterns that answer GET but are not pages to look at, with the reason.
SKIPS = {
    "merchants/board/": "rebuilt by the board work",
    "products/board/": "rebuilt by the board work",
    "logout/": "logs out",
    "login/": "checked on its own (anonymous), below",
    "health/": "a health check for the load balancer, not a page",
    "products/tickets/<id:ticket_id>/attachments/<id:attachment_id>/": "a download (an attached file)",
}
# The same by the route's beginning or end: a board's fragments, the downloads (CSV, XLSX) of every page.
SKIP_PREFIXES = {"merchants/board/": "rebuilt by the board work", "products/board/": "rebuilt by the board work"}
SKIP_SUFFIXES = {"export/": "a download", ".csv": "a download", ".xlsx": "a download"}


def skip_reason(route: str) -> str | None:
    return SKIPS.get(route) or next(
        (reason for prefix, reason in SKIP_PREFIXES.items() if route.startswith(prefix)), None) or next(
        (reason for suffix, reason in SKIP_SUFFIXES.items() if route.endswith(suffix)), None)


# Pages no pattern names: the site's error page (its own layout, its search box).
ERROR_PAGES = {"/merchants/999999/": 404}
OUTSIDE = ("api/", "admin/", "static/", "media/", "__debug__/")
ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


def _first(queryset, field: str = "pk") -> Callable[[], object]:
    return lambda: queryset.order_by("pk").values_list(field, flat=True).first()


def _first_of(label: str, field: str = "pk") -> Callable[[], object]:
    """By the model's label, looked up only when a route asks: for a model that may come with another branch."""
    return lambda: apps.get_model(label).objects.order_by("pk").values_list(field, flat=True).first()


# The id each page parameter takes, from the demo data: (route prefix, parameter) → the first such row.
PARAMETERS: dict[tuple[str, str], Callable[[], object]] = {
    ("analytics/ingest-keys/", "pk"): _first(IngestKey.objects),
    ("analytics/event-names/", "pk"): _first_of("analytics.NameMapping"),
    ("products/", "ticket_id"): _first(Ticket.objects),
    ("merchants/campaigns/", "campaign_id"): _first(Campaign.objects),
    ("merchants/invites/", "invite_id"): _first(CampaignInvite.objects),
    ("merchants/training/", "course_id"): _first(Course.objects),
    ("merchants/training/", "session_id"): _first(TrainingSession.objects),
    ("merchants/targets/", "target_id"): _first(RecruitmentTarget.objects),
    ("merchants/", "merchant_id"): _first(Merchant.objects),
    ("users/customers/", "distinct_id"): _first(Customer.objects, "distinct_id"),
    ("users/segments/", "segment_id"): _first(Segment.objects),
    ("users/coupons/", "campaign_id"): _first(CouponCampaign.objects),
    ("goals/teams/", "team_id"): _first(Team.objects),
    ("goals/teams/", "membership_id"): _first(TeamMembership.objects),
    ("goals/", "goal_id"): _first(Goal.objects),
    ("desk/digests/", "digest_id"): _first(Digest.objects),
    ("desk/alert-rules/", "rule_id"): _first(AlertRule.objects),
    ("insights/dashboards/", "dashboard_id"): _first(Dashboard.objects),
    ("insights/subscriptions/", "subscription_id"): _first(Subscription.objects),
    ("insights/", "insight_id"): _first(Insight.objects),
}
# Pages that need a query string to be a page (what the links to them carry).
QUERIES: dict[str, Callable[[], str]] = {
    "insights/new/": lambda: "kind=funnel",
    "desk/alert-rules/new/": lambda: f"insight={_first(Insight.objects)()}",
    "insights/subscriptions/new/": lambda: f"insight={_first(Insight.objects)()}",
}
PLACEHOLDER = {"uuid": "00000000-0000-0000-0000-000000000000", "text": "does-not-exist"}

# What sticks out: the outermost elements whose right edge passes the viewport while their parent's does not,
# and that no scrolling or clipping ancestor holds in. The widest is named in the failure message.
OVERFLOW = """() => {
  const doc = document.documentElement, limit = window.innerWidth;
  if (doc.scrollWidth <= limit) { return null; }
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== doc; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") { return true; }
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.dataset.testid ? "[data-testid=" + el.dataset.testid + "]" : "")
    + (typeof el.className === "string" && el.className.trim()
       ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const describe = (el, box) => {
    let path = [], up = el;
    for (let i = 0; i < 3 && up && up !== document.body; i++, up = up.parentElement) { path.unshift(name(up)); }
    return {right: Math.round(box.right), width: Math.round(box.width), path: path.join(" > ")};
  };
  let worst = null, furthest = null;
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right <= limit + 0.5) { continue; }
    if (!furthest || box.right > furthest.right) { furthest = describe(el, box); }  // when no culprit is found
    if (box.width === 0) { continue; }
    const parent = el.parentElement.getBoundingClientRect();
    if (parent.right > limit + 0.5 && el.parentElement !== document.body) { continue; }
    if (clipped(el)) { continue; }
    if (!worst || box.right > worst.right) { worst = describe(el, box); }
  }
  return {scrollWidth: doc.scrollWidth, worst: worst || furthest};
}"""


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def page_routes() -> list[str]:
    """Every route of the URLconf that could be a page (no API, admin or static files), in URLconf order."""
    return [route for route in dict.fromkeys(_walk(get_resolver().url_patterns)) if not route.startswith(OUTSIDE)]


def _fill(route: str, value_of: Callable[[str, str], object]) -> str:
    return "/" + ROUTE_PARAM.sub(lambda match: str(value_of(match["converter"] or "str", match["name"])), route)


def _placeholder(converter: str, _name: str) -> str:
    return PLACEHOLDER.get(converter, "999999")


def real_path(route: str) -> str:
    """The route with its ids taken from the data; LookupError names a parameter the data has no row for."""
    def value(_converter: str, name: str) -> object:
        for (prefix, parameter), first in PARAMETERS.items():
            if parameter == name and route.startswith(prefix):
                found = first()
                if found is None:
                    raise LookupError(f"{route}: no row for {name} in the demo data")
                return found
        raise LookupError(f"{route}: add {name} to PARAMETERS")

    path = _fill(route, value)
    return f"{path}?{QUERIES[route]()}" if route in QUERIES else path


def pages_to_visit(context, base: str) -> tuple[list[str], list[str], list[str]]:
    """(page paths, action routes (GET answers 405), problems): asked with GET as the logged-in administrator."""
    pages, actions, problems = [], [], []
    for route in page_routes():
        if skip_reason(route):
            continue
        answer = context.request.get(base + _fill(route, _placeholder), max_redirects=0)
        if answer.status == 405:
            actions.append(route)
            continue
        if ROUTE_PARAM.search(route) is None and answer.status == 200 \
                and not answer.headers.get("content-type", "").startswith("text/html"):
            problems.append(f"{route}: answers {answer.headers.get('content-type')} — add it to SKIPS with a reason")
            continue
        try:
            pages.append(real_path(route))
        except LookupError as error:
            problems.append(str(error))
    return pages, actions, problems


def overflow_at(page, base: str, path: str, allowed=(200,)) -> str | None:
    """None when the page fits; otherwise what sticks out (or the unexpected status), in a sentence."""
    answer = page.goto(base + path)  # waits for "load": the charts have been drawn
    status = answer.status if answer is not None else "?"
    if status not in allowed:
        return f"{path}: answered {status}"
    found = page.evaluate(OVERFLOW)
    if found is None:
        return None
    worst = found["worst"] or {"path": "(none found)", "right": "?", "width": "?"}
    return (f"{path} [{status}] is {found['scrollWidth']}px wide at {PHONE['width']}px; widest: {worst['path']} "
            f"(right edge {worst['right']}px, {worst['width']}px wide)")


@pytest.fixture
def demo(db):
    demo_seed(customers=300, days=35, seed=11, end=timezone.localdate() - timedelta(days=1), merchants=12)
    demo_extras()


def demo_extras() -> None:
    """What the demo does not make and some pages need: an insight shared with everyone, a merchant operator's
    dashboard holding it (a chart and a number) with a subscription, an ingestion key, an SDK event-name mapping."""
    admin, operator = Staff.objects.get(username="admin"), Staff.objects.get(username="merchant_ops")
    insight = insight_create(user=admin, kind="aarrr", params={}, name="AARRR of the month",
                             date_range="last_30_days", visibility=Visibility.EVERYONE)
    dashboard = dashboard_create(user=operator, name="My merchants this month")
    tile_add(user=operator, dashboard=dashboard, insight_id=insight.pk, wide=True)
    tile_add(user=operator, dashboard=dashboard, insight_id=insight.pk, display=DashboardTile.Display.NUMBER)
    subscription_create(user=operator, frequency="weekly", at=time(8), dashboard_id=dashboard.pk,
                        recipient_ids=[operator.pk])
    ingest_key_create(name="marketplace-prod", created_by=admin)
    from analytics.services.naming import Draft, name_mapping_create

    name_mapping_create(draft=Draft.of(kind="event", source="Order Completed", target="order_paid"), created_by=admin)


@pytest.fixture
def phone_context(browser):
    contexts = []

    def make(viewport=PHONE, javascript=True):
        context = browser.new_context(locale="en-US", viewport=viewport, extra_http_headers={"Accept-Language": "en"},
                                      java_script_enabled=javascript)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def test_the_urlconf_pages_are_all_found():
    """The enumeration reaches the application's pages (and the skips name routes that exist)."""
    routes = page_routes()

    assert {"", "merchants/<id:merchant_id>/", "products/tickets/<id:ticket_id>/", "users/customers/",
            "goals/", "insights/dashboards/<id:dashboard_id>/"} <= set(routes)
    assert set(SKIPS) <= set(routes), sorted(set(SKIPS) - set(routes))
    assert skip_reason("analytics/funnel/export/") == skip_reason("desk/digests/<id:digest_id>/digest.xlsx") \
        == skip_reason("users/segments/<id:segment_id>/export.csv") == "a download"
    assert skip_reason("merchants/board/column/") == "rebuilt by the board work"
    assert skip_reason("merchants/<id:merchant_id>/") is None


def test_the_login_page_fits_a_phone(phone_context, live_server, db):
    page = phone_context().new_page()
    problems = [overflow_at(page, live_server.url, "/login/")]

    assert problems == [None]


def test_every_page_fits_a_phone_without_sideways_scroll(phone_context, live_server, demo):
    """Admin and merchant operator, English and Chinese, every page: one seeded data set, one context per role."""
    pages, problems = {}, []
    for username in ROLES:
        page = phone_context().new_page()
        log_in(page, live_server, username, DEMO_PASSWORD)
        expect(page.get_by_test_id("whoami")).to_be_visible()
        pages[username] = page
    paths, actions, found = pages_to_visit(pages["admin"].context, live_server.url)
    problems += found

    for username, page in pages.items():
        allowed = (200,) if username == "admin" else (200, 403)  # a page the role may not read answers 403
        for language in LANGUAGES:
            switch_language(page, language)
            visits = [(path, allowed) for path in paths] + [(path, (status,)) for path, status in ERROR_PAGES.items()]
            for path, statuses in visits:
                problem = overflow_at(page, live_server.url, path, allowed=statuses)
                if problem:
                    problems.append(f"{username}, {language}: {problem}")

    assert len(paths) >= 60, paths
    assert len(actions) >= 50, actions  # the POST-only actions were recognised, not taken for pages
    assert problems == [], "\n" + "\n".join(problems)


def test_the_menu_button_opens_and_closes_the_navigation(phone_context, live_server, make_staff, screenshot):
    """At 390 px the navigation is behind the menu button: aria-expanded follows it, the keyboard opens it, Escape
    closes it and gives the focus back. At 1280 px there is no button and the navigation shows, as before."""
    staff = make_staff(Role.MERCHANT_OPS, username="field_op")
    page = phone_context().new_page()
    log_in(page, live_server, staff.username, PASSWORD)
    button, nav = page.get_by_test_id("nav-toggle"), page.locator("nav.mainnav")
    expect(button).to_be_visible()
    # The button is painted before its deferred script has run (the dashboard still loads its charts): a key pressed
    # in between does nothing. Wait for the page's load event, as a user's first tap would in practice.
    page.wait_for_load_state("load")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-controls", "mainnav")
    expect(nav).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    page.keyboard.press("Tab")
    expect(nav.locator("a").first).to_be_focused()
    screenshot(page, "phone-menu-open")
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    expect(button).to_be_focused()
    button.click()
    nav.get_by_role("link", name="Merchants").click()
    expect(page).to_have_url(live_server.url + "/merchants/")
    expect(page.get_by_test_id("nav-toggle")).to_have_attribute("aria-expanded", "false")

    page.set_viewport_size(WIDE)
    expect(button).to_be_hidden()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Merchants")).to_have_attribute("aria-current", "page")
    page.wait_for_load_state("load")  # the click returns once the page is committed: measure it whole, pickers drawn
    assert page.evaluate(OVERFLOW) is None
    screenshot(page, "wide-merchants")


def test_without_javascript_the_navigation_stays_open(phone_context, live_server, make_staff):
    """The menu button needs JavaScript; without it (css/noscript.css) there is no button and the links show."""
    staff = make_staff(Role.MERCHANT_OPS, username="no_script_op")
    page = phone_context(javascript=False).new_page()
    log_in(page, live_server, staff.username, PASSWORD)

    expect(page.get_by_test_id("whoami")).to_be_visible()
    expect(page.get_by_test_id("nav-toggle")).to_be_hidden()
    expect(page.locator("nav.mainnav").get_by_role("link", name="Merchants")).to_be_visible()
    assert page.evaluate(OVERFLOW) is None
