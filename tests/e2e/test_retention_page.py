"""Retention with young cohorts in Chromium, in English and Simplified Chinese: periods not started are blank, the
period in progress is marked "so far", the average row counts complete periods only and the curve is drawn (by
static/js/charts.js, under the page's CSP). The clock is pinned at Wednesday 2026-11-25 10:00 (tests/conftest.py).
Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import event_row, local_time

pytestmark = pytest.mark.browser

FIRST_MONDAY = date(2026, 10, 5)  # eight weekly cohorts up to this week's (23 Nov)
QUERY = {"cohort_event": "signup", "return_event": "order_paid", "period": "week", "periods": "8",
         "date_from": "2026-10-05", "date_to": "2026-11-25"}


@pytest.fixture
def cohorts(make_staff):
    """Week w (0…7) has 10 + w sign-ups on its Tuesday; customer i of a cohort orders in the weeks k where
    (i + k) % 3 == 0, up to yesterday."""
    rows, yesterday = [], date(2026, 11, 24)
    for w in range(8):
        monday = FIRST_MONDAY + timedelta(weeks=w)
        for i in range(10 + w):
            person = f"w{w}c{i}"
            rows.append(event_row("signup", person, local_time(monday + timedelta(days=1), 9)))
            for k in range(8):
                day = monday + timedelta(weeks=k, days=1)
                if (i + k) % 3 == 0 and day <= yesterday:
                    rows.append(event_row("order_paid", person, local_time(day, 12)))
    events_load(rows)
    make_staff(Role.ANALYST, username="e2e_retention", first_name="Lin", last_name="Analyst")


def test_retention_page_marks_young_cohorts_in_english_and_chinese(page, live_server, cohorts, screenshot):
    log_in(page, live_server, "e2e_retention", PASSWORD)
    page.goto(f"{live_server.url}/analytics/retention/?{urlencode(QUERY)}")

    heatmap = page.get_by_test_id("retention-heatmap")
    expect(heatmap.locator("tbody tr")).to_have_count(8)
    expect(heatmap.locator("thead th")).to_have_text(["Cohort", "Customers", *[f"Week {k}" for k in range(8)]])
    newest = page.get_by_test_id("cohort-2026-11-23")
    expect(newest.locator("td[data-state=future]")).to_have_count(7)  # blank, never 0 %
    expect(newest.locator("td[data-state=so_far]")).to_have_count(1)
    expect(newest.locator("td[data-state=so_far] .so-far-mark")).to_have_text("so far")
    oldest = page.get_by_test_id("cohort-2026-10-05")
    expect(oldest.locator("td[data-state=complete]")).to_have_count(7)
    expect(oldest.locator("td[data-state=so_far]")).to_have_count(1)
    for cell in newest.locator("td[data-state=future]").all():
        expect(cell).to_have_text("")
    average = page.get_by_test_id("retention-average")
    expect(average.locator("th").first).to_have_text("Average")
    expect(average.locator("td[data-share]")).to_have_count(7)  # week 7: no cohort has completed it
    expect(average.locator("td[data-state=future]")).to_have_count(1)
    curve = page.locator("canvas[data-chart=retention-curve]")
    expect(curve).to_be_visible()
    assert page.evaluate("() => Boolean(window.Chart.getChart(document.getElementById('retention-curve')))")
    assert page.evaluate("() => window.Chart.getChart(document.getElementById('retention-curve')).data"
                         ".datasets[0].data[7]") is None
    expect(page.get_by_test_id("export-link")).to_be_visible()
    screenshot(page, "analytics-retention-young-en")

    switch_language(page, "zh-hans")
    expect(heatmap.locator("thead th").nth(2)).to_have_text("周 0")
    expect(newest.locator("td[data-state=so_far] .so-far-mark")).to_have_text("截至目前")
    expect(average.locator("th").first).to_have_text("平均")
    expect(page.locator("main")).to_contain_text("留存曲线")
    screenshot(page, "analytics-retention-young-zh-hans")
