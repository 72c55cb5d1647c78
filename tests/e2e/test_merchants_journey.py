"""Merchant operations in Chromium: an operator moves a lead along the pipeline to live, logs a visit with its next
follow-up, and after the nightly metrics the merchant's tier change shows on its page and on the tier overview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.services.loading import events_load
from merchants.models import Merchant, MerchantContact, MerchantStageMove, TierRules
from merchants.services.metrics import merchant_metrics_compute, week_start
from merchants.services.pipeline import merchant_create
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in
from tests.factories import event_row, local_time

pytestmark = pytest.mark.browser


def _move(page, stage: str, label: str) -> None:
    page.get_by_test_id("move-form").locator("select[name=to_stage]").select_option(stage)
    with page.expect_navigation():
        page.get_by_test_id("move").click()
    expect(page.get_by_test_id("stage")).to_have_text(label)


def test_move_a_merchant_along_the_pipeline_and_log_a_visit(page, live_server, make_staff, screenshot):
    ops = make_staff(Role.MERCHANT_OPS, username="e2e_mops")
    merchant = merchant_create(user=ops, code="E0001", name="Noodle House", category="food", city="Shanghai")

    log_in(page, live_server, "e2e_mops", PASSWORD)
    page.goto(live_server.url + "/merchants/board/")
    expect(page.get_by_test_id("col-lead")).to_contain_text("E0001 Noodle House")
    screenshot(page, "merchants-1-board-lead")
    page.get_by_test_id("card-E0001").get_by_role("link").click()
    for stage, label in (("contacted", "contacted"), ("negotiating", "negotiating"), ("signed", "signed"),
                         ("live", "live")):
        _move(page, stage, label)
    expect(page.get_by_test_id("timeline")).to_contain_text("moved signed → live")

    follow_up = timezone.localdate() + timedelta(days=7)
    form = page.get_by_test_id("contact-form")
    form.locator("select[name=kind]").select_option("visit")
    form.locator("textarea[name=notes]").fill("Checked the kitchen and the new menu photos.")
    form.locator("input[name=outcome]").fill("will join the lunch campaign")
    form.locator("input[name=follow_up_on]").fill(follow_up.isoformat())
    with page.expect_navigation():
        page.get_by_test_id("log-contact").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("will join the lunch campaign")
    expect(page.get_by_test_id("timeline")).to_contain_text(f"next follow-up: {follow_up.isoformat()}")
    screenshot(page, "merchants-2-live-with-visit")

    page.goto(live_server.url + "/merchants/board/")
    expect(page.get_by_test_id("col-live")).to_contain_text("E0001 Noodle House")
    screenshot(page, "merchants-3-board-live")

    assert list(MerchantStageMove.objects.filter(merchant=merchant).order_by("id")
                .values_list("to_stage", flat=True)) == ["lead", "contacted", "negotiating", "signed", "live"]
    assert list(MerchantContact.objects.values_list("kind", "follow_up_on")) == [("visit", follow_up)]
    assert page.console_errors == []


def test_a_tier_change_shows_on_the_merchant_page_and_the_overview(page, live_server, make_staff, screenshot):
    make_staff(Role.ANALYST, username="e2e_reader")
    TierRules.objects.create(version=1)
    merchant = Merchant.objects.create(code="E0002", name="Milk Tea Corner", category="drinks", city="Beijing",
                                       stage=Merchant.Stage.LIVE, stage_changed_at=timezone.now())
    this_week = week_start(timezone.localdate() - timedelta(days=1))
    strong_week = this_week - timedelta(days=21)
    strong = [event_row("order_paid", f"c{i}", local_time(strong_week + timedelta(days=i % 5), 12),
                        merchant_id="E0002", amount=25, order_id=f"a{i}{k}") for i in range(15) for k in range(2)]
    reviews = [event_row("review", f"c{i}", local_time(strong_week + timedelta(days=1), 20), merchant_id="E0002",
                         rating=5, order_id=f"a{i}0") for i in range(6)]
    so_far = [event_row("order_paid", "c1", local_time(this_week, 12), merchant_id="E0002", amount=25,
                        order_id="now1")]
    events_load([*strong, *reviews, *so_far])
    for weeks_ago in (3, 2, 1):  # a strong complete week, then two complete weeks without orders
        merchant_metrics_compute(period_start=this_week - timedelta(days=7 * weeks_ago))
    merchant_metrics_compute(period_start=this_week)  # the week so far: counted, never judged
    merchant.refresh_from_db()
    assert merchant.tier == "ordinary"

    log_in(page, live_server, "e2e_reader", PASSWORD)
    page.goto(live_server.url + f"/merchants/{merchant.pk}/")
    expect(page.get_by_test_id("tier")).to_have_text("ordinary")
    expect(page.get_by_test_id("timeline")).to_contain_text("tier core → ordinary")
    expect(page.get_by_test_id("diagnosis")).to_contain_text("No orders in the last complete week")
    expect(page.get_by_test_id("week-so-far")).to_contain_text("so far: 2 of 7 days")
    screenshot(page, "merchants-4-tier-change")

    page.goto(live_server.url + "/merchants/tiers/")
    expect(page.get_by_test_id("movers-down")).to_contain_text("E0002 core → ordinary")
    expect(page.get_by_test_id("distribution")).to_contain_text("ordinary: 1")
    expect(page.get_by_test_id("hysteresis")).to_contain_text("2 complete weeks in a row")
    expect(page.get_by_test_id("week-so-far")).to_contain_text("2 of 7 days counted")
    screenshot(page, "merchants-5-tier-overview")
    assert page.console_errors == []
