"""Sensors Data's JavaScript SDK (``sa-sdk-javascript`` 1.27.11 from npm, vendored in tests/e2e/vendor with its
Apache-2.0 licence) driven from Chromium against the live server: an anonymous visit from a campaign link, then the
visitor logs in, signs up and orders; the funnel visit → signup → order_paid counts one person with the visit's
channel. The SDK sends as it does on a shop's page: image requests (``/sa.gif?token=…&data=…``), its own cookie id
(linked to the login id by its ``track_id_bind``), its own clock (pinned to the test's)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.utils import timezone

from analytics.models import Event
from analytics.services.funnel import funnel_compute
from analytics.services.keys import ingest_key_create

pytestmark = pytest.mark.browser
SDK = Path(__file__).resolve().parent / "vendor" / "sensorsdata-1.27.11.min.js"


def wait_for(page, predicate, timeout: float = 20.0, sent: list | None = None):
    """Poll ``predicate``, letting the browser work meanwhile (Playwright's sync API runs only inside its calls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(200)
    raise AssertionError(f"timed out; the page sent: {sent}")


@pytest.fixture
def shop_page(chromium_path, browser, live_server):
    """A page of "the shop": the app's login page stands in for it (a real page from the loopback server — Chromium
    refuses a page it does not know the address of access to loopback), its CSP bypassed so the SDK can be added."""
    context = browser.new_context(bypass_csp=True, locale="zh-CN")
    yield context.new_page()
    context.close()


def test_sensors_javascript_sdk_visit_login_signup_order(shop_page, live_server, _pinned_now):
    page = shop_page
    raw_key = ingest_key_create(name="web")[1]
    sent = []
    page.on("request", lambda request: sent.append(request.url[:160]))
    page.on("console", lambda message: sent.append(f"console: {message.text[:300]}"))
    page.clock.install(time=_pinned_now)  # the SDK stamps events with the browser's clock: the test's
    page.goto(live_server.url + "/login/?utm_source=xiaohongshu&utm_medium=social&utm_campaign=w48")
    page.add_script_tag(content=SDK.read_text(encoding="utf-8"))
    page.evaluate("""(url) => {
        const sensors = window.sensorsDataAnalytic201505;
        sensors.init({server_url: url, send_type: "image", show_log: false, is_track_single_page: false,
                      heatmap: {clickmap: "not_collect", scroll_notice_map: "not_collect"}});
        sensors.quick("autoTrack");
    }""", f"{live_server.url}/api/v1/ingest/sensors/sa?token={raw_key}")
    visit = wait_for(page, lambda: Event.objects.filter(event="visit").first(), sent=sent)
    assert visit.channel == "xiaohongshu"
    assert visit.properties["utm_medium"] == "social"

    page.evaluate("""() => {
        const sensors = window.sensorsDataAnalytic201505;
        sensors.login("u-77");
        sensors.track("signup", {});
        sensors.track("order_paid", {order_id: "o-1", amount: 30});
    }""")
    wait_for(page, lambda: Event.objects.filter(event="order_paid").exists() and Event.objects.filter(
        event="signup").exists())

    cookie_id = visit.distinct_id
    assert cookie_id != "u-77"
    people = wait_for(page, lambda: (lambda ids: ids if len(ids) == 1 else None)(set(
        Event.objects.filter(event__in=["visit", "signup", "order_paid"]).values_list("person_id", flat=True))))
    assert len(people) == 1
    day = timezone.localtime(visit.timestamp).date()
    funnel = funnel_compute(steps=["visit", "signup", "order_paid"], window_days=7, date_from=day, date_to=day,
                            breakdown="channel")
    assert [step["count"] for step in funnel["steps"]] == [1, 1, 1]
    assert [group["value"] for group in funnel["breakdown"]] == ["xiaohongshu"]
