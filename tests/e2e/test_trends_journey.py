"""An analyst builds a trend with a breakdown through the form, reads the series, downloads it, and reads it again in
Chinese. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.test_analytics_pages import shop  # noqa: F401 - the fixture
from tests.e2e.test_login_dashboard import log_in, switch_language

pytestmark = pytest.mark.browser


def test_analyst_builds_a_trend_with_a_breakdown(page, live_server, shop, screenshot):  # noqa: F811
    log_in(page, live_server, "e2e_analyst", PASSWORD)
    page.locator("nav.mainnav a", has_text="Trends").click()
    expect(page.locator("main h1")).to_have_text("Trends")

    page.locator("#id_event").fill("visit")
    page.locator("#id_measure").select_option("unique")
    page.locator("#id_interval").select_option("week")
    page.locator("#id_date_from").fill("2026-03-02")
    page.locator("#id_date_to").fill("2026-03-22")
    page.locator("#id_breakdown").fill("properties.channel")
    page.locator("#id_breakdown_limit").fill("2")
    page.locator("#id_chart").select_option("bar")
    page.get_by_test_id("run-report").click()

    expect(page).to_have_url(re.compile(r"event=visit&measure=unique"))
    # 60 visitors, 15 per channel (one in four has none): a tie, so the smallest values lead and the rest is "(other)"
    expect(page.get_by_test_id("trends-table").locator("tbody th")).to_have_text(["(none)", "Douyin", "(other)"])
    expect(page.get_by_test_id("trend-series-2").locator("td")).to_have_text(["11", "10", "9"])
    expect(page.locator("#trends-chart")).to_be_visible()
    screenshot(page, "analytics-trends-en")

    with page.expect_download() as download:
        page.get_by_test_id("export-link-xlsx").click()
    assert download.value.suggested_filename == "trends_2026-03-02_2026-03-22.xlsx"

    page.locator("#id_event").fill("visti")
    page.get_by_test_id("run-report").click()
    expect(page.get_by_test_id("field-event").get_by_role("alert")).to_contain_text("Nearest: visit")

    page.go_back()
    switch_language(page, "zh-hans")
    expect(page.locator("main h1")).to_have_text("趋势")
    # "(none)" in the reader's language (core/labels.py)
    expect(page.get_by_test_id("trends-table").locator("tbody th").first).to_have_text("（无）")
    screenshot(page, "analytics-trends-zh-hans")
