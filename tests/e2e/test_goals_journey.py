"""Goals in Chromium: a team lead opens the team page, creates a team goal, and finds it in the goals tree under
the company goal with its pace."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.models import AarrrDaily
from goals.models import Goal, Team, TeamMembership
from goals.periods import MONTH, period_start_of
from goals.services.goals import goal_create
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in

pytestmark = pytest.mark.browser


def test_a_lead_sets_a_team_goal_and_sees_it_in_the_tree(page, live_server, make_staff, screenshot, today_is):
    # today pinned mid-month (the live server runs in this process): goals are measured through yesterday
    today = today_is(date(2026, 11, 20))
    admin = make_staff(Role.ADMIN, username="e2e_admin")
    lead = make_staff(Role.USER_OPS, username="e2e_lead")
    team = Team.objects.create(name="Growth", kind=Team.Kind.USER_OPS)
    TeamMembership.objects.create(team=team, user=lead, is_lead=True)
    month = period_start_of(kind=MONTH, day=timezone.localdate())
    company = goal_create(user=admin, title="Company revenue", level="company", period_kind="month",
                          period_start=month, metric="revenue", target=Decimal("100000"))
    AarrrDaily.objects.create(date=today - timedelta(days=1), channel="wechat", acquisition=40,
                              revenue=Decimal("900"))

    log_in(page, live_server, "e2e_lead", PASSWORD)
    page.goto(live_server.url + f"/goals/teams/{team.pk}/")
    expect(page.get_by_test_id("team-members")).to_contain_text("e2e_lead")
    with page.expect_navigation():
        page.get_by_test_id("new-team-goal").click()
    form = page.get_by_test_id("goal-form")
    expect(form.locator("select[name=level]")).to_have_value("team")
    expect(form.locator("select[name=team]")).to_have_value(str(team.pk))
    form.locator("input[name=title]").fill("New customers from WeChat")
    form.locator("select[name=parent]").select_option(str(company.pk))
    form.locator("select[name=metric]").select_option("acquisition")
    form.locator("input[name=channel]").fill("wechat")
    form.locator("input[name=target]").fill("1")  # already reached: ahead
    screenshot(page, "goals-1-form")
    with page.expect_navigation():
        form.get_by_role("button").click()
    expect(page.get_by_test_id("goal-value")).to_have_text("40")
    expect(page.locator("h1")).to_contain_text("New customers from WeChat")
    goal = Goal.objects.get(title="New customers from WeChat")
    assert (goal.level, goal.team_id, goal.parent_id, goal.created_by_id) == ("team", team.pk, company.pk, lead.pk)

    page.goto(live_server.url + "/goals/")
    node = page.get_by_test_id("goal-node").filter(has_text="Company revenue")
    child = node.locator("ul").get_by_test_id("goal-node").filter(has_text="New customers from WeChat")
    expect(child).to_be_visible()
    expect(child.get_by_test_id("pace").first).to_have_text("ahead")
    screenshot(page, "goals-2-tree")
    assert page.failed_responses == [] and page.console_errors == []
