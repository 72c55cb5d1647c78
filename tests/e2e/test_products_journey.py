"""The requirement loop in Chromium: operations file a requirement, the PM moves it to launch (the analyst
approves its tracking plan on the way), and, once the after window is over, the analyst measures and concludes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from products.models import Ticket
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import event_row, local_time

pytestmark = pytest.mark.browser

PLAN = [{"name": "signup", "description": "Account created", "properties": [
    {"name": "referrer", "type": "string", "required": False}]}]


def log_out(page) -> None:
    with page.expect_navigation():
        page.locator("form[action='/logout/'] button").click()


def move(page, state: str) -> None:
    with page.expect_navigation():
        page.get_by_test_id(f"move-{state}").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text(str(Ticket.Status(state).label))


def test_file_move_to_launch_and_conclude(page, live_server, make_staff, screenshot):
    make_staff(Role.USER_OPS, username="e2e_ops", first_name="Lin")
    make_staff(Role.PM, username="e2e_pm", first_name="Wei")
    make_staff(Role.ANALYST, username="e2e_analyst", first_name="Fang")

    # Operations file a requirement.
    log_in(page, live_server, "e2e_ops", PASSWORD)
    page.goto(live_server.url + "/products/tickets/new/")
    page.locator("#id_title").fill("Coupon pack on the sign-up page")
    page.locator("#id_description").fill("New users ask for a **welcome coupon**.\n\n- 3 merchants asked too")
    page.locator("#id_kind").select_option("campaign_support")
    page.locator("#id_target_metric").select_option("signup_rate")
    page.locator("#id_aarrr_stage").select_option("activation")
    page.locator("#id_expected_change").fill("+3 points of visitors signing up")
    page.locator("#id_owner_pm").select_option(label="Wei")
    page.locator("#id_labels").fill("growth, coupon")
    with page.expect_navigation():
        page.get_by_test_id("save-ticket").click()
    ticket = Ticket.objects.get()
    expect(page.get_by_test_id("ticket-title")).to_contain_text(f"REQ-{ticket.pk}")
    expect(page.get_by_test_id("ticket-status")).to_have_text("proposed")
    expect(page.get_by_test_id("description").locator("strong")).to_have_text("welcome coupon")
    expect(page.get_by_test_id("workflow")).to_contain_text("Your role has no move to make on this ticket now.")
    screenshot(page, "products-1-filed-by-ops")
    log_out(page)

    # The PM triages, designs, drafts the tracking plan and sends it for review.
    log_in(page, live_server, "e2e_pm", PASSWORD)
    page.goto(live_server.url + f"/products/tickets/{ticket.pk}/")
    expect(page.locator("[data-testid^=move-]")).to_have_count(3)  # triage, reject, cancel
    move(page, "triaged")
    move(page, "designing")
    page.get_by_test_id("edit-plan").click()
    page.get_by_test_id("pe-json-toggle").click()  # the power user's way: the JSON behind the toggle
    page.locator("#id_events").fill(json.dumps(PLAN))
    with page.expect_navigation():
        page.get_by_test_id("save-plan").click()
    expect(page.get_by_test_id("plan-diff")).to_contain_text("New event signup with 1 property: referrer")
    with page.expect_navigation():
        page.get_by_test_id("submit-plan").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("in review")
    move(page, "in_development")
    move(page, "testing")
    # The gate shows before it bites: the move is greyed out with its reason, nothing to click.
    expect(page.get_by_test_id("blocked-move-ready_to_launch")).to_be_disabled()
    expect(page.get_by_test_id("gated-ready_to_launch")).to_contain_text(
        "Ready to launch needs an approved tracking plan")
    expect(page.get_by_test_id("next-step")).to_have_text("Waiting for Fang to review tracking plan v1.")
    expect(page.get_by_test_id("ticket-status")).to_have_text("testing")
    log_out(page)

    # The analyst approves the plan.
    log_in(page, live_server, "e2e_analyst", PASSWORD)
    page.goto(live_server.url + f"/products/tickets/{ticket.pk}/")
    expect(page.locator("[data-testid^=move-]")).to_have_count(0)
    with page.expect_navigation():
        page.get_by_test_id("approve-plan").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("approved")
    log_out(page)

    # The PM launches it.
    log_in(page, live_server, "e2e_pm", PASSWORD)
    page.goto(live_server.url + f"/products/tickets/{ticket.pk}/")
    move(page, "ready_to_launch")
    move(page, "launched")
    screenshot(page, "products-2-launched-by-pm")
    page.goto(live_server.url + "/products/board/")
    expect(page.get_by_test_id("col-launched")).to_contain_text("Coupon pack on the sign-up page")
    screenshot(page, "products-board")
    log_out(page)

    # A week passes: the launch moves 8 days back, and the events show more sign-ups after it.
    launch_day = timezone.localdate() - timedelta(days=8)
    Ticket.objects.filter(pk=ticket.pk).update(launched_at=local_time(launch_day, 9))
    rows = []
    for i in range(40):
        before, after = launch_day - timedelta(days=1 + i % 7), launch_day + timedelta(days=i % 7)
        rows.append(event_row("visit", f"b{i}", local_time(before, 12), channel="wechat"))
        rows.append(event_row("visit", f"a{i}", local_time(after, 12), channel="wechat"))
        if i % 5 == 0:
            rows.append(event_row("signup", f"b{i}", local_time(before, 13)))
        if i % 5 in (0, 1, 2):
            rows.append(event_row("signup", f"a{i}", local_time(after, 13)))
    events_load(rows)

    # The analyst measures the impact and concludes.
    log_in(page, live_server, "e2e_analyst", PASSWORD)
    page.goto(live_server.url + f"/products/tickets/{ticket.pk}/")
    move(page, "analysing")
    page.locator("#id_window_days").fill("7")
    page.locator("#id_conclusion").fill("Sign-ups went from 20% to 60% of visitors.")
    with page.expect_navigation():
        page.get_by_test_id("measure").click()
    expect(page.get_by_test_id("impact-before")).to_have_text("20.0%")
    expect(page.get_by_test_id("impact-after")).to_have_text("60.0%")
    expect(page.get_by_test_id("impact-p")).to_have_text("p = 0.0003")
    page.get_by_test_id("outcome-select").select_option("success")
    page.get_by_test_id("analysis-summary").fill("The coupon pack tripled the sign-up rate; keep it.")
    move(page, "concluded")
    expect(page.get_by_test_id("outcome")).to_contain_text("success")
    expect(page.get_by_test_id("history")).to_contain_text("analysing")
    screenshot(page, "products-3-concluded-by-analyst")
    switch_language(page, "zh-hans")
    screenshot(page, "products-3-concluded-zh-hans")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == ("concluded", "success")
    assert list(ticket.transitions.values_list("to_status", "actor__username")) == [
        ("proposed", "e2e_ops"), ("triaged", "e2e_pm"), ("designing", "e2e_pm"), ("in_development", "e2e_pm"),
        ("testing", "e2e_pm"), ("ready_to_launch", "e2e_pm"), ("launched", "e2e_pm"),
        ("analysing", "e2e_analyst"), ("concluded", "e2e_analyst")]
    assert page.console_errors == []
