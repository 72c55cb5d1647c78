"""An analyst filters a funnel by a property and a segment, breaks it down by a property, sets a step window, an
exclusion step and a value property, and reads the same numbers as the API; then the page in Chinese and on a phone.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from analytics.models import Person
from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import event_row, local_time
from users.models import Segment, SegmentMember

pytestmark = pytest.mark.browser

DAY = date(2026, 3, 3)


@pytest.fixture
def shop(make_staff):
    """20 customers: c00–c14 shop at merchant m12, the rest at m7; the segment holds c00–c11. All visit (UTM baidu
    for even numbers, wechat for odd), three in four sign up, half pay (100 + n); c00 and c05 open a ticket between
    signing up and paying.

    Filtered to m12 and the segment: 12 visit → 9 sign up → 4 pay (c01, c04, c08, c09: 422 in all) once c00 and c05
    are left at "signup" by the exclusion; baidu 6 → 6 → 2, wechat 6 → 3 → 2.
    """
    rows = []
    for i in range(20):
        person, merchant = f"c{i:02d}", "m12" if i < 15 else "m7"
        utm = "baidu" if i % 2 == 0 else "wechat"
        rows.append(event_row("visit", person, local_time(DAY, 10), merchant_id=merchant, utm_source=utm))
        if i % 4 != 3:
            rows.append(event_row("signup", person, local_time(DAY, 10, 30), merchant_id=merchant))
        if i % 4 in (0, 1):
            rows.append(event_row("order_paid", person, local_time(DAY, 11), merchant_id=merchant, amount=100 + i))
        if i in (0, 5):
            rows.append(event_row("ticket_opened", person, local_time(DAY, 10, 45)))
    events_load(rows)
    segment = Segment.objects.create(name="Early shoppers", rules={})
    people = Person.objects.filter(distinct_id__in=[f"c{i:02d}" for i in range(12)]).values_list("id", flat=True)
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, customer_id=pid) for pid in people])
    make_staff(Role.ANALYST, username="e2e_funnel_analyst", first_name="Lin", last_name="Analyst")
    return segment


def test_analyst_filters_breaks_down_and_excludes_in_a_funnel(page, live_server, shop, screenshot):
    log_in(page, live_server, "e2e_funnel_analyst", PASSWORD)
    page.goto(live_server.url + "/analytics/funnel/")
    steps = page.locator("#steps-editor input[name=steps]")
    expect(steps).to_have_count(3)  # visit, signup, order_paid
    page.locator("#id_window_days").fill("7")
    page.locator("#id_date_from").fill("2026-03-01")
    page.locator("#id_date_to").fill("2026-03-07")
    page.locator("#id_breakdown").fill("properties.utm_source")
    page.locator("#id_breakdown_limit").fill("5")
    page.locator("#id_step_windows").fill("1h, 1h")
    page.locator("#id_exclude").fill("ticket_opened:2:3")
    expect(page.locator("#exclude-list input")).to_have_count(2)  # a second, empty one to add another
    page.locator("#id_value_property").fill("amount")
    page.locator("#id_where").fill("properties.merchant_id:eq:m12")
    page.locator("#id_segment").select_option(str(shop.pk))
    page.get_by_test_id("run-report").click()

    expect(page).to_have_url(re.compile(r"exclude=ticket_opened%3A2%3A3"))
    table = page.get_by_test_id("funnel-table")
    expect(table.locator("tbody tr .step-count")).to_have_text(["12", "9", "4"])
    expect(page.get_by_test_id("funnel-step-2").locator(".step-value-sum")).to_have_text("422")
    expect(page.get_by_test_id("funnel-step-2").locator(".step-value-avg")).to_have_text("105.50")
    breakdown = page.get_by_test_id("funnel-breakdown")
    expect(breakdown.locator("h2")).to_have_text("By utm_source of the entry event")
    expect(page.get_by_test_id("breakdown-baidu").locator("td").nth(3)).to_contain_text("2")
    expect(page.get_by_test_id("breakdown-wechat").locator("td").nth(2)).to_contain_text("3")
    expect(page.get_by_test_id("funnel-result")).to_contain_text("Customers who did ticket_opened between steps 2 "
                                                                 "and 3 stop at step 2.")
    expect(page.locator("#id_exclude")).to_have_value("")  # the typed exclusion is kept in its own input
    expect(page.locator("#exclude-list input").first).to_have_value("ticket_opened:2:3")
    assert page.console_errors == []
    screenshot(page, "funnel-options-en")

    # The same query through the API answers the numbers the page shows.
    query = page.url.split("?", 1)[1]
    api = page.request.get(live_server.url + "/api/v1/analytics/funnel/?" + query)
    assert api.status == 200
    assert [step["count"] for step in api.json()["steps"]] == [12, 9, 4]
    assert [(row["value"], [s["count"] for s in row["steps"]]) for row in api.json()["breakdown"]] == [
        ("baidu", [6, 6, 2]), ("wechat", [6, 3, 2])]

    # A bad exclusion is a field error on the page, not a 500.
    page.locator("#exclude-list input").first.fill("ticket_opened:3:2")
    page.get_by_test_id("run-report").click()
    expect(page.get_by_test_id("field-exclude").get_by_role("alert")).to_have_text(
        "“ticket_opened:3:2”: the steps go from 1 to 3, the first before the second.")
    screenshot(page, "funnel-options-error")
    page.go_back()

    switch_language(page, "zh-hans")
    expect(page.get_by_test_id("funnel-options").locator("legend")).to_have_text("漏斗选项")
    expect(table.locator("tbody tr .step-count")).to_have_text(["12", "9", "4"])
    screenshot(page, "funnel-options-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "funnel-options-zh-narrow")
    switch_language(page, "en")
    screenshot(page, "funnel-options-en-narrow")


def test_analyst_breaks_retention_down_by_a_property(page, live_server, shop, screenshot):
    """Retention by the UTM source of each customer's first visit: 10 baidu and 10 wechat customers, of whom those
    who paid (the same day) are retained on day 0."""
    log_in(page, live_server, "e2e_funnel_analyst", PASSWORD)
    page.goto(live_server.url + "/analytics/retention/?cohort_event=visit&return_event=order_paid&period=day"
              "&periods=3&date_from=2026-03-01&date_to=2026-03-07")
    page.locator("#id_breakdown").fill("properties.utm_source")
    page.get_by_test_id("run-report").click()

    expect(page).to_have_url(re.compile(r"breakdown=properties.utm_source"))
    breakdown = page.get_by_test_id("retention-breakdown")
    expect(breakdown.locator("h2")).to_have_text("By utm_source of the cohort event")
    expect(page.get_by_test_id("retention-breakdown-baidu").locator(".cohort-size")).to_have_text("10")
    expect(page.get_by_test_id("retention-breakdown-wechat").locator("td").first).to_have_text("50.0%")
    assert page.console_errors == []
    screenshot(page, "retention-breakdown-en")
    switch_language(page, "zh-hans")
    expect(breakdown.locator("h2")).to_have_text("按同期群事件的 utm_source")
    screenshot(page, "retention-breakdown-zh")


def test_a_funnel_of_recent_entrants_says_so_and_keeps_only_closed_windows_on_one_click(page, live_server,
                                                                                        make_staff):
    # today is 2026-11-25 10:00 (pinned): with a 7-day window, entrants after 2026-11-18 10:00 can still convert
    events_load([event_row("visit", "early", local_time(date(2026, 11, 10), 9)),
                 event_row("signup", "early", local_time(date(2026, 11, 10), 9, 30)),
                 event_row("visit", "recent", local_time(date(2026, 11, 24), 9)),
                 event_row("visit", "today", local_time(date(2026, 11, 25), 8))])
    make_staff(Role.ANALYST, username="e2e_window_analyst")
    log_in(page, live_server, "e2e_window_analyst", PASSWORD)
    page.goto(live_server.url + "/analytics/funnel/?steps=visit&steps=signup&window_days=7"
              "&date_from=2026-11-01&date_to=2026-11-25")

    note = page.get_by_test_id("funnel-window-open")
    expect(note).to_contain_text("2 of the 3 entrants entered less than 7 days ago")
    expect(page.locator("tbody tr .step-count")).to_have_text(["3", "1"])
    note.get_by_test_id("funnel-closed-only").click()

    expect(page).to_have_url(re.compile(r"closed_only=on"))
    expect(page.locator("tbody tr .step-count")).to_have_text(["1", "1"])
    expect(page.get_by_test_id("funnel-closed-only-note")).to_contain_text("Only customers who entered by "
                                                                           "2026-11-18 10:00")
    expect(page.locator("#id_closed_only")).to_be_checked()
