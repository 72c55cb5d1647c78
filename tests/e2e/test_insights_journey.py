"""A user-operations lead saves a funnel as an insight, puts it and the AARRR overview on a new team dashboard,
sets the dashboard's date range, subscribes the team to it (the e-mail lands in the outbox with the XLSX), and sets
an alert that fires on the data and shows on the desk. Screenshots of the dashboard in English and Chinese, wide
and at 390 px, go to test-artifacts/."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core import mail
from openpyxl import load_workbook
from playwright.sync_api import expect

from analytics.services.loading import events_load
from analytics.services.metrics import metrics_run_execute
from desk.services.alerts import alerts_compute
from goals.models import Team, TeamMembership
from insights.models import Dashboard, Insight
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import event_row, local_time

pytestmark = pytest.mark.browser


@pytest.fixture
def growth(make_staff):
    rows = []
    for n in range(45):
        day = date(2026, 11, 2) + timedelta(days=n % 23)
        who = f"c{n}"
        channel = ["wechat", "douyin", "organic"][n % 3]
        rows.append(event_row("visit", who, local_time(day, 9 + n % 10), channel=channel))
        if n % 3:
            rows.append(event_row("signup", who, local_time(day, 20)))
        if n % 3 == 1:
            rows.append(event_row("order_paid", who, local_time(day, 21), amount=30, order_id=f"o{n}",
                                  merchant_id="m1"))
    events_load(rows)
    metrics_run_execute(date_from=date(2026, 11, 1), date_to=date(2026, 11, 24))
    lead = make_staff(Role.USER_OPS, username="e2e_lead", first_name="Mei", last_name="Lead", email="mei@example.com")
    member = make_staff(Role.ANALYST, username="e2e_member", email="lin@example.com", language="zh-hans")
    team = Team.objects.create(name="Growth", kind=Team.Kind.USER_OPS)
    TeamMembership.objects.create(team=team, user=lead, is_lead=True)
    TeamMembership.objects.create(team=team, user=member)
    return {"lead": lead, "member": member, "team": team}


def _save_as_insight(page, name: str) -> None:
    page.get_by_test_id("save-as-insight").click()
    page.locator("#id_name").fill(name)
    page.locator("#id_date_range").select_option("last_30_days")
    page.locator("#id_visibility").select_option("team")
    page.get_by_test_id("save-insight").click()
    expect(page.get_by_test_id("insight-name")).to_have_text(name)


def test_the_morning_dashboard_journey(page, live_server, growth, screenshot, celery_eager):
    log_in(page, live_server, "e2e_lead", PASSWORD)

    # a funnel, saved as an insight from the report page
    page.goto(live_server.url + "/analytics/funnel/?steps=visit&steps=signup&steps=order_paid&window_days=7"
              "&date_from=2026-11-01&date_to=2026-11-24")
    expect(page.get_by_test_id("funnel-result")).to_be_visible()
    _save_as_insight(page, "Sign-up funnel")
    expect(page.get_by_test_id("insight-result").get_by_test_id("tile-number")).to_have_text("33.3%")
    funnel = Insight.objects.get(name="Sign-up funnel")
    assert funnel.params["steps"] == ["visit", "signup", "order_paid"] and funnel.date_range == "last_30_days"

    # and the AARRR overview
    page.goto(live_server.url + "/analytics/aarrr/")
    _save_as_insight(page, "AARRR stages")

    # a new team dashboard with both
    page.goto(live_server.url + "/insights/dashboards/")
    page.locator("#id_name").fill("Growth morning")
    page.locator("#id_team").select_option(str(growth["team"].pk))
    page.get_by_test_id("create-dashboard").click()
    expect(page.get_by_test_id("dashboard-name")).to_have_text("Growth morning")
    for name, display in (("Sign-up funnel", "chart"), ("AARRR stages", "number")):
        form = page.get_by_test_id("tile-add-form")
        form.locator("select[name=insight]").select_option(label=name)
        form.locator("select[name=display]").select_option(display)
        form.get_by_test_id("add-tile").click()
    expect(page.locator("[data-tile-id]")).to_have_count(2)
    expect(page.get_by_test_id("tile-0").locator("canvas")).to_be_visible()
    expect(page.get_by_test_id("tile-0").locator(".computed")).to_contain_text("computed")

    # a dashboard-wide date range
    page.get_by_test_id("dashboard-filters").locator("select[name=date_range]").select_option("last_7_days")
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("dashboard-range")).to_contain_text("Last 7 days")
    dashboard = Dashboard.objects.get(name="Growth morning")
    assert dashboard.date_range == "last_7_days" and dashboard.team == growth["team"]
    expect(page.get_by_test_id("tile-1").get_by_text("Acquisition")).to_be_visible()

    # reorder with the keyboard's buttons
    page.get_by_test_id("tile-0").get_by_role("button", name="Move down: Sign-up funnel").click()
    expect(page.get_by_test_id("tile-0").locator("h3")).to_have_text("AARRR stages")
    screenshot(page, "insights-dashboard-en")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "insights-dashboard-en-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    # subscribe the team; "send now" mails each member in their language with the XLSX
    page.get_by_test_id("subscribe-dashboard").click()
    page.locator("#id_frequency").select_option("weekly")
    page.locator("#id_weekday").select_option("0")
    page.locator("#id_team").select_option(str(growth["team"].pk))
    page.get_by_test_id("save-subscription").click()
    expect(page.get_by_test_id("subscription-detail")).to_contain_text("08:00")
    page.get_by_test_id("send-now").click()
    expect(page.get_by_test_id("subscription-runs")).to_contain_text("2")
    assert sorted(m.to[0] for m in mail.outbox) == ["lin@example.com", "mei@example.com"]
    english = next(m for m in mail.outbox if m.to == ["mei@example.com"])
    workbook = load_workbook(io.BytesIO(english.attachments[0][1]))
    assert workbook.sheetnames == ["AARRR stages", "Sign-up funnel"]

    # an alert on the AARRR insight that fires on this data, seen on the desk after the night
    page.goto(live_server.url + f"/insights/{Insight.objects.get(name='AARRR stages').pk}/")
    page.get_by_test_id("alert-insight").click()
    page.locator("#id_metric").select_option("activation")
    page.locator("#id_condition").select_option("above")
    page.locator("#id_value").fill("5")
    page.get_by_test_id("save-alert-rule").click()
    expect(page.get_by_test_id("insight-rules")).to_contain_text("AARRR stages")
    alerts_compute(day=date(2026, 11, 25))
    page.goto(live_server.url + "/")
    expect(page.get_by_test_id("desk-alerts")).to_contain_text("AARRR stages")

    # pinned on the team's home page, in Chinese
    page.goto(live_server.url + f"/insights/dashboards/{dashboard.pk}/")
    page.get_by_test_id("pin-dashboard").click()
    expect(page.get_by_test_id("pin-dashboard")).to_have_text("Unpin from the home page")
    # the language is switched on the home page: on the dashboard, whose tiles are still loading, the switch's
    # navigation was sometimes never seen (a 15 s timeout in CI)
    page.goto(live_server.url + "/")
    switch_language(page, "zh-hans")
    expect(page.get_by_test_id("pinned-dashboard")).to_have_text("Growth morning")
    expect(page.locator("[data-tile-id]")).to_have_count(2)
    page.goto(live_server.url + f"/insights/dashboards/{dashboard.pk}/")
    expect(page.get_by_test_id("tile-1").locator("canvas")).to_be_visible()
    screenshot(page, "insights-dashboard-zh-hans")
    assert page.failed_responses == [] and page.console_errors == []
