"""The product pages on the demo data set, in Chromium: list, roadmap, the analysing ticket (plan, coverage,
violations, impact chart), tracking health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_seed
from products.models import Ticket
from tests.e2e.test_login_dashboard import log_in

pytestmark = pytest.mark.browser


def test_demo_product_pages(page, live_server, screenshot):
    demo_seed(customers=1500, days=60, seed=5, end=timezone.localdate() - timedelta(days=1), merchants=30)
    reorder = Ticket.objects.get(title="Reorder button on past orders")

    log_in(page, live_server, "product_ops", DEMO_PASSWORD)
    page.goto(live_server.url + "/products/tickets/")
    expect(page.get_by_test_id("ticket-row")).to_have_count(12)
    screenshot(page, "products-list")
    page.goto(live_server.url + "/products/roadmap/?period=quarter")
    expect(page.get_by_test_id("roadmap").locator("section")).not_to_have_count(0)
    screenshot(page, "products-roadmap")
    page.goto(live_server.url + f"/products/tickets/{reorder.pk}/")
    expect(page.get_by_test_id("plan-status")).to_have_text("approved")
    expect(page.get_by_test_id("coverage").get_by_test_id("violation")).not_to_have_count(0)
    expect(page.get_by_test_id("impact-p")).to_contain_text("p = ")
    expect(page.locator("#impact-chart")).to_be_visible()
    screenshot(page, "products-ticket-analysing")
    page.goto(live_server.url + "/products/tracking-health/")
    expect(page.get_by_test_id("unplanned")).to_contain_text("share_click")
    screenshot(page, "products-tracking-health")

    assert page.failed_responses == []
    assert page.console_errors == []
