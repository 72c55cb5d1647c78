"""The Event names page in a real browser: an administrator previews a mapping of an SDK's event name, saves it, maps
a property, sees a refused chain explained next to its field; in English and Chinese, wide and narrow."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.factories import event_row

pytestmark = pytest.mark.browser
PAGE = "/analytics/event-names/"


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + PAGE)
    expect(page).to_have_url(re.compile(r"/login/\?next=/analytics/event-names/$"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(live_server.url + PAGE)


def test_admin_previews_saves_and_is_refused_a_chain(page, live_server, make_staff, screenshot):
    now = timezone.now()
    events_load([event_row("Order Completed", f"c{n}", now - timedelta(hours=5 * n), revenue=10 + n, order_id=f"o{n}")
                 for n in range(12)])
    make_staff(Role.ADMIN, username="e2e_names")
    log_in(page, live_server, "e2e_names")
    expect(page.get_by_test_id("no-mappings")).to_be_visible()

    form = page.get_by_test_id("mapping-form")
    form.get_by_label("Name sent by the SDK").fill("Order Completed")
    form.get_by_label("Canonical name").fill("order_paid")
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("mapping-preview")).to_contain_text("would have changed 12 events of 12 (12 people)")
    expect(page.get_by_test_id("preview-examples")).to_contain_text("order_paid")
    screenshot(page, "event-names-preview-en")

    page.get_by_test_id("save").click()
    expect(page.locator(".messages")).to_contain_text("Mapping saved")
    expect(page.get_by_test_id("mappings")).to_contain_text("Order Completed")

    form = page.get_by_test_id("mapping-form")
    form.get_by_label("Kind").select_option("property")
    form.get_by_label("Name sent by the SDK").fill("revenue")
    form.get_by_label("Canonical name").fill("amount")
    form.get_by_label("On event (properties; empty: every event)").fill("order_paid")
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("mapping-preview")).to_contain_text("would have changed 12 events")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("mappings").locator("tbody tr")).to_have_count(2)

    form = page.get_by_test_id("mapping-form")
    form.get_by_label("Name sent by the SDK").fill("Checkout Done")
    form.get_by_label("Canonical name").fill("Order Completed")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("mapping-form")).to_contain_text("is itself mapped onto “order_paid”")
    screenshot(page, "event-names-refused-en")
    # The refused form answers 400 (as every page's invalid form does): the browser logs that, nothing else.
    assert [error for error in page.console_errors if "status of 400" not in error] == []

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + PAGE)
    screenshot(page, "event-names-narrow-en")
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(live_server.url + PAGE)
    expect(page.locator("main h1")).to_have_text("事件名称")
    screenshot(page, "event-names-narrow-zh")
    page.set_viewport_size({"width": 1280, "height": 900})
    form = page.get_by_test_id("mapping-form")
    form.locator("#id_source").fill("Order Completed")
    form.locator("#id_target").fill("order_paid")
    page.get_by_test_id("preview").click()
    screenshot(page, "event-names-refused-zh")
