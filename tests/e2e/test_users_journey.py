"""User operations in Chromium on the demo data: overview, customers, a customer's timeline, channels, life cycle,
a segment built with the rule builder (live preview), a coupon campaign's results, referral; a PM sees summaries."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_seed
from tests.e2e.test_login_dashboard import log_in
from users.models import CouponCampaign, Customer, Segment
from users.services.segments import segment_queryset

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
    builder = page.get_by_test_id("rule-builder")
    # first-touch channel is wechat AND (paid at least twice in the last 30 days OR active), all by clicking
    builder.get_by_test_id("rb-add-condition").click()
    channel = builder.get_by_test_id("rb-condition").nth(0)
    channel.locator(".rb-field").select_option("first_channel")
    channel.locator(".rb-operator").select_option("eq")
    channel.locator("input[data-path$='.value']").fill("wechat")
    builder.get_by_test_id("rb-add-group").click()
    nested = builder.get_by_test_id("rb-group").nth(1)
    nested.locator(".rb-op").select_option("or")
    nested.get_by_test_id("rb-condition").nth(0).locator(".rb-kind").select_option("event")
    paid = nested.get_by_test_id("rb-condition").nth(0)
    paid.locator(".rb-event").fill("order_paid")
    paid.locator("input[data-path$='.value']").fill("2")
    nested.get_by_test_id("rb-add-condition").click()
    stage = nested.get_by_test_id("rb-condition").nth(1)
    stage.get_by_label("new").uncheck()
    stage.get_by_label("active", exact=True).check()
    rules = {"op": "and", "conditions": [
        {"field": "first_channel", "operator": "eq", "value": "wechat"},
        {"op": "or", "conditions": [{"event": "order_paid", "operator": "gte", "value": 2, "days": 30},
                                    {"field": "stage", "operator": "in", "value": ["active"]}]}]}
    expected = segment_queryset(rules=rules).count()
    expect(page.get_by_test_id("rb-size")).to_have_attribute("data-size", str(expected))
    expect(page.get_by_test_id("rb-size")).to_contain_text("Customers matching now:")
    assert json.loads(page.locator("textarea[name=rules]").input_value()) == rules
    # a bad value is named next to its field by the server's validation, and the size is withheld
    paid.locator("input[data-path$='.value']").fill("")
    expect(paid.locator(".rb-error")).to_have_text("Give a whole number of times.")
    expect(page.get_by_test_id("rb-size")).not_to_have_attribute("data-size", re.compile(".*"))
    paid.locator("input[data-path$='.value']").fill("2")
    expect(page.get_by_test_id("rb-size")).to_have_attribute("data-size", str(expected))
    expect(paid.locator(".rb-error")).to_have_text("")
    # the JSON stays one click away
    page.get_by_test_id("rb-json-toggle").click()
    expect(page.locator("textarea[name=rules]")).to_be_visible()
    screenshot(page, "users-segment-builder")
    page.get_by_role("button", name="Save and build").first.click()
    segment = Segment.objects.get(name="Wechat repeat buyers")
    assert segment.rules == rules
    assert segment.size == expected > 0
    expect(page.get_by_test_id("segment-size")).to_contain_text(f"{segment.size:,}")
    expect(page.get_by_test_id("member-table").locator("tbody tr")).to_have_count(min(expected, 50))
    expect(page.get_by_test_id("rb-condition")).to_have_count(3)  # the saved rule comes back into the builder
    screenshot(page, "users-segment")

    page.goto(live_server.url + f"/users/coupons/{campaign.pk}/")
    expect(page.get_by_test_id("issued")).not_to_have_text("0")
    expect(page.get_by_test_id("suspicious-table").locator("tbody tr")).not_to_have_count(0)
    screenshot(page, "users-coupon")
    page.goto(live_server.url + "/users/referral/")
    expect(page.get_by_test_id("top-referrers").locator("tbody tr")).not_to_have_count(0)
    screenshot(page, "users-referral")

    # the one refused preview is the bad value above (a 400 with the field's message), nothing else failed
    preview = "/api/v1/users/segments/preview/"
    assert [r for r in page.failed_responses if not r.startswith("400 ") or preview not in r] == []
    assert [e for e in page.console_errors if "400" not in e or preview not in e] == []


def test_pm_sees_summaries_only(page, live_server, screenshot):
    demo_seed(customers=400, days=30, seed=6, end=timezone.localdate() - timedelta(days=1), merchants=10)

    log_in(page, live_server, "pm", DEMO_PASSWORD)
    page.goto(live_server.url + "/users/")
    expect(page.get_by_test_id("rfm-grid")).to_be_visible()
    expect(page.get_by_role("link", name="Customer list")).to_have_count(0)
    screenshot(page, "users-overview-pm")
    response = page.goto(live_server.url + "/users/customers/")

    assert response.status == 403
