"""An analyst reads the AARRR overview, filters a channel, exports in the background and downloads the file."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.services.loading import events_load
from analytics.services.metrics import metrics_run_execute
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import event_row, local_time

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]


@pytest.fixture
def metrics(db):
    yesterday = timezone.localdate() - timedelta(days=1)
    events_load([
        event_row("visit", "a", local_time(yesterday, 9), channel="wechat"),
        event_row("signup", "a", local_time(yesterday, 9, 5)),
        event_row("order_paid", "a", local_time(yesterday, 12), amount=60, order_id="o1", merchant_id="M1"),
        event_row("visit", "b", local_time(yesterday, 10), channel="douyin"),
        event_row("visit", "c", local_time(yesterday, 11), channel="douyin"),
    ])
    metrics_run_execute(date_from=yesterday - timedelta(days=6), date_to=yesterday)


def test_analyst_reads_the_overview_and_exports_it(page, live_server, make_staff, metrics, screenshot, settings,
                                                   tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make_staff(Role.ANALYST, username="e2e_analyst")
    log_in(page, live_server, "e2e_analyst", PASSWORD)

    page.get_by_role("link", name="AARRR").click()

    expect(page.locator("main h1")).to_have_text("AARRR overview")
    expect(page.get_by_test_id("stage-acquisition").locator(".kpi-value")).to_have_text("3")
    expect(page.get_by_test_id("stage-revenue").locator(".kpi-value")).to_have_text("¥60")
    rows = page.get_by_test_id("channel-table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("Douyin")  # the channel by its label
    expect(rows.nth(1).locator("td")).to_have_text(["WeChat", "1", "100%", "0%", "¥60", "¥60.00", "0"])
    expect(page.locator("#chart-acquisition")).to_be_visible()
    screenshot(page, "aarrr-overview-en")

    page.get_by_test_id("aarrr-filters").locator("select[name=channel]").select_option("wechat")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"channel=wechat"))
    expect(page.get_by_test_id("stage-acquisition").locator(".kpi-value")).to_have_text("1")

    with page.expect_download() as csv_download:
        page.get_by_test_id("export-csv").click()
    assert csv_download.value.suggested_filename.endswith(".csv")

    page.get_by_test_id("export-job").click()

    expect(page).to_have_url(live_server.url + "/analytics/exports/")
    job = page.get_by_test_id("export-jobs").locator("tbody tr").first
    expect(job.locator(".job-status")).to_have_text("done")
    expect(job.locator("progress")).to_have_attribute("value", "100")
    with page.expect_download() as xlsx_download:
        job.get_by_role("link", name="Download").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "exports-en")

    switch_language(page, "zh-hans")
    expect(page.locator("main h1")).to_have_text("导出")
    assert page.failed_responses == []
    assert page.console_errors == []


def test_bad_range_is_explained(page, live_server, make_staff, metrics):
    make_staff(Role.PM, username="e2e_pm")
    log_in(page, live_server, "e2e_pm", PASSWORD)

    page.goto(live_server.url + "/analytics/aarrr/?date_from=2026-03-12&date_to=2026-03-01")

    expect(page.get_by_role("alert")).to_have_text("Pick a start on or before the end date.")
    expect(page.get_by_test_id("export-job")).to_have_count(0)
