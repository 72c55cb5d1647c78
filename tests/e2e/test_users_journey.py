"""User operations in Chromium on the demo data: overview, customers, a customer's timeline, channels, life cycle,
a segment built with the rule builder (live preview), a coupon campaign's results, referral; a PM sees summaries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_seed
from tests.e2e.test_login_dashboard import log_in
from users.models import CouponCampaign, Customer, Segment

pytestmark = pytest.mark.browser


def test_user_ops_journey(page, live_server, screenshot):
    demo_seed(customers=1500, days=60, seed=5, end=timezone.localdate() - timedelta(days=1), merchants=30)
    buyer = Customer.objects.filter(orders__gte=2).order_by("-orders", "distinct_id").first()
    campaign = CouponCampaign.objects.get(kind="win_back")

    log_in(page, live_server, "user_ops", DEMO_PASSWORD)
    page.get_by_role("link", name="Customers").first.click()
    expect(page.get_by_test_id("rfm-grid")).to_be_visible()
    expect(page.get_by_test_id("kpi-customers")).to_contain_text(f"{Customer.objects.count():,}")
    screenshot(page, "users-overview")

    page.goto(live_server.url + "/users/customers/?stage=active")
    expect(page.get_by_test_id("customer-table").locator("tbody tr")).not_to_have_count(0)
    screenshot(page, "users-customer-list")
    page.goto(live_server.url + f"/users/customers/{buyer.distinct_id}/")
    expect(page.get_by_test_id("timeline").locator("li").filter(has_text="order_paid")).not_to_have_count(0)
    screenshot(page, "users-customer")

    page.goto(live_server.url + "/users/channels/")
    expect(page.get_by_test_id("channel-table").locator("tbody tr")).not_to_have_count(0)
    expect(page.locator("#cohort-chart")).to_be_visible()
    screenshot(page, "users-channels")
    page.goto(live_server.url + "/users/lifecycle/")
    expect(page.locator("#lifecycle-chart")).to_be_visible()
    screenshot(page, "users-lifecycle")

    page.goto(live_server.url + "/users/segments/")
    page.locator("input[name=name]").fill("Wechat repeat buyers")
    page.locator("#rb-name").fill("first_channel")
    page.locator("#rb-operator").select_option("eq")
    page.locator("#rb-value").fill("wechat")
    page.get_by_test_id("rb-add").click()
    page.locator("#rb-kind").select_option("event")
    page.locator("#rb-name").fill("order_paid")
    page.locator("#rb-operator").select_option("gte")
    page.locator("#rb-value").fill("2")
    page.get_by_test_id("rb-add").click()
    page.get_by_test_id("rb-preview").click()
    expect(page.get_by_test_id("rb-size")).to_contain_text("Customers matching now:")
    screenshot(page, "users-segment-builder")
    page.get_by_role("button", name="Save and build").first.click()
    segment = Segment.objects.get(name="Wechat repeat buyers")
    expect(page.get_by_test_id("segment-size")).to_contain_text(f"{segment.size:,}")
    screenshot(page, "users-segment")

    page.goto(live_server.url + f"/users/coupons/{campaign.pk}/")
    expect(page.get_by_test_id("issued")).not_to_have_text("0")
    expect(page.get_by_test_id("suspicious-table").locator("tbody tr")).not_to_have_count(0)
    screenshot(page, "users-coupon")
    page.goto(live_server.url + "/users/referral/")
    expect(page.get_by_test_id("top-referrers").locator("tbody tr")).not_to_have_count(0)
    screenshot(page, "users-referral")

    assert page.failed_responses == []
    assert page.console_errors == []


def test_pm_sees_summaries_only(page, live_server, screenshot):
    demo_seed(customers=400, days=30, seed=6, end=timezone.localdate() - timedelta(days=1), merchants=10)

    log_in(page, live_server, "pm", DEMO_PASSWORD)
    page.goto(live_server.url + "/users/")
    expect(page.get_by_test_id("rfm-grid")).to_be_visible()
    expect(page.get_by_role("link", name="Customer list")).to_have_count(0)
    screenshot(page, "users-overview-pm")
    response = page.goto(live_server.url + "/users/customers/")

    assert response.status == 403
