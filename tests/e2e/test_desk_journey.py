"""The daily desk in Chromium: a merchant operator logs in, opens the desk, clears a due follow-up (proposing the next
one) and sees the count go down; a lead sees the member's load; an alert is acknowledged away; the team digest
opens and downloads as XLSX; the desk in Chinese."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from desk.models import Alert
from desk.services.digests import digest_build, last_complete_week
from goals.models import Team, TeamMembership
from merchants.models import MerchantContact
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import MerchantFactory

pytestmark = pytest.mark.browser


def _due(merchant, days: int, notes: str) -> MerchantContact:
    return MerchantContact.objects.create(merchant=merchant, kind=MerchantContact.Kind.VISIT, notes=notes,
                                          happened_at=timezone.now() - timedelta(days=7),
                                          follow_up_on=timezone.localdate() + timedelta(days=days))


def test_a_merchant_operator_clears_a_due_follow_up_from_the_desk(page, live_server, make_staff, screenshot):
    operator = make_staff(Role.MERCHANT_OPS, username="e2e_desk_op", first_name="Wei", last_name="Zhang")
    team = Team.objects.create(name="Merchant operations", kind="merchant_ops")
    TeamMembership.objects.create(team=team, user=operator, is_lead=True)
    noodles = MerchantFactory(owner=operator, code="M10001", name="Noodle House")
    tea = MerchantFactory(owner=operator, code="M10002", name="Tea Corner")
    due_today = _due(noodles, 0, "Bring the new menu photos")
    _due(tea, -2, "Ask about the weekend campaign")
    _due(tea, 3, "Not due yet")
    alert = Alert.objects.create(kind=Alert.Kind.MERCHANT_AT_RISK, subject=f"merchant:{tea.pk}",
                                 day=timezone.localdate(), audience_user=operator,
                                 params={"code": "M10002", "name": "Tea Corner", "from_tier": "potential",
                                         "week": "2026-11-16", "score": 31})
    digest = digest_build(team=team, week=last_complete_week())[0]

    log_in(page, live_server, operator.username, PASSWORD)

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_test_id("desk")).to_be_visible()
    expect(page.get_by_test_id("count-follow_ups")).to_have_text("2")
    section = page.get_by_test_id("todo-follow_ups")
    expect(section).to_contain_text("M10001 Noodle House")
    expect(section).to_contain_text("overdue since")
    expect(page.get_by_test_id(f"team-load-{team.pk}")).to_contain_text("Wei Zhang")
    expect(page.get_by_test_id(f"alert-{alert.pk}")).to_contain_text("M10002 Tea Corner fell to at-risk")
    screenshot(page, "desk-merchant-operator")

    form = page.get_by_test_id(f"follow-up-form-{due_today.pk}")
    form.locator("select[name=kind]").select_option("call")
    form.locator("input[name=outcome]").fill("Photos received")
    next_week = timezone.localdate() + timedelta(days=7)
    form.locator("input[name=follow_up_on]").fill(next_week.isoformat())
    with page.expect_navigation():
        form.get_by_role("button", name="Done").click()

    expect(page.locator(".messages")).to_contain_text("Follow-up done.")
    expect(page.get_by_test_id("count-follow_ups")).to_have_text("1")
    expect(page.get_by_test_id("todo-follow_ups")).not_to_contain_text("Noodle House")
    due_today.refresh_from_db()
    assert due_today.follow_up_done_at is not None
    assert MerchantContact.objects.filter(merchant=noodles, follow_up_on=next_week, outcome="Photos received").exists()

    with page.expect_navigation():
        page.get_by_test_id(f"alert-{alert.pk}").get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("desk-alerts")).to_have_count(0)

    page.get_by_role("link", name="Team digests").click()
    expect(page.get_by_test_id("digest-list")).to_contain_text("Merchant operations")
    page.get_by_test_id("digest-list").get_by_role("link").first.click()
    expect(page.get_by_test_id("digest")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download XLSX").click()
    assert download.value.suggested_filename == f"digest-{team.pk}-{digest.week}.xlsx"

    page.goto(live_server.url + "/")
    switch_language(page, "zh-hans")
    expect(page.locator("main h1")).to_have_text("仪表盘")
    expect(page.get_by_test_id("count-follow_ups")).to_have_text("1")
    screenshot(page, "desk-merchant-operator-zh-hans")
    assert page.failed_responses == [] and page.console_errors == []
