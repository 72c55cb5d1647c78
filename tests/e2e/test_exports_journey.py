"""The issue's journeys in Chromium: an analyst filters a funnel by an event property and a segment, then downloads
every report from its page — funnel, retention, golden time, trends, stickiness, channel quality, RFM, life cycle,
merchant tiers and tickets — and reads each file back (csv / openpyxl), checking a figure equals the page's.
(Building a trend with a breakdown: test_trends_journey.py.) Screenshots go to test-artifacts/."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from analytics.services.loading import events_load
from merchants.models import Tier
from ops_platform.core.exports import header_code
from ops_platform.core.roles import Role
from products.models import Ticket
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import MerchantFactory, TicketFactory, event_row, local_time
from users.models import Stage, StageDaily, StageFlow
from users.services.customers import customers_refresh
from users.services.segments import segment_save

pytestmark = pytest.mark.browser

MONDAY = date(2026, 3, 2)
CHANNELS = ["wechat", "douyin", "organic", ""]
RANGE = "date_from=2026-03-02&date_to=2026-03-22"


def _platform(i: int) -> str:
    return "ios" if i % 5 < 3 else "android"


@pytest.fixture
def store(make_staff):
    """60 customers over three weeks (as test_analytics_pages' shop), each event carrying the customer's
    ``platform``; the customers refreshed, a segment of WeChat's, life-cycle rows, two merchants, three tickets."""
    rows = []
    for i in range(60):
        person, day, platform = f"c{i:02d}", MONDAY + timedelta(days=i % 21), _platform(i)
        rows.append(event_row("visit", person, local_time(day, 11 + (i % 3) * 3, i % 60), channel=CHANNELS[i % 4],
                              platform=platform))
        if i % 3 != 2:
            rows.append(event_row("signup", person, local_time(day, 12 + (i % 3) * 3, i % 60), platform=platform))
        if i % 3 == 0:
            rows.append(event_row("order_paid", person, local_time(day + timedelta(days=i % 5), 13 if i % 2 else 19),
                                  platform=platform, amount=10 + i))
    events_load(rows)
    customers_refresh()
    analyst = make_staff(Role.ANALYST, username="e2e_exports", first_name="Lin", last_name="Analyst")
    segment = segment_save(name="WeChat first", rules={"op": "and", "conditions": [
        {"field": "first_channel", "operator": "eq", "value": "wechat"}]})
    StageDaily.objects.create(date=date(2026, 3, 20), stage=Stage.ACTIVE, customers=33)
    StageFlow.objects.create(date=date(2026, 3, 20), from_stage=Stage.ACTIVE, to_stage=Stage.AT_RISK, customers=6)
    MerchantFactory(code="M1", name="Noodle House", tier=Tier.CORE, health_score=91)
    MerchantFactory(code="M2", name="=HYPERLINK(\"http://x\")", tier=Tier.POTENTIAL, health_score=88)
    TicketFactory(title="Faster checkout", requester=analyst)
    TicketFactory(title="=1+1 coupon banner", priority=Ticket.Priority.HIGH)
    TicketFactory(title="Launched", status=Ticket.Status.LAUNCHED)
    return {"segment": segment}


def _download(page, testid: str, scope=None) -> Path:
    with page.expect_download() as download:
        (scope or page).get_by_test_id(testid).first.click()
    return Path(download.value.path())


def _csv(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    codes = [header_code(cell) for cell in rows[0]]
    return [dict(zip(codes, row, strict=False)) for row in rows[1:]]


def _sheets(path: Path) -> dict[str, list[dict]]:
    workbook = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))  # a download has no .xlsx suffix
    sheets = {}
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        codes = [header_code(str(cell)) for cell in rows[0]]
        sheets[sheet.title] = [dict(zip(codes, row, strict=True)) for row in rows[1:]]
    return sheets


def _number(text: str) -> int:
    return int(text.replace(",", "").strip())


def test_analyst_filters_a_funnel_by_a_property_and_a_segment(page, live_server, store, screenshot):
    log_in(page, live_server, "e2e_exports", PASSWORD)
    page.locator("nav.mainnav a", has_text="Funnels").click()
    steps = page.locator("#steps-editor input[name=steps]")
    steps.nth(0).fill("visit")
    steps.nth(1).fill("signup")
    steps.nth(2).fill("order_paid")
    page.locator("#id_window_days").fill("14")
    page.locator("#id_date_from").fill("2026-03-02")
    page.locator("#id_date_to").fill("2026-03-22")
    page.locator("#id_where").fill("properties.platform:eq:ios")
    page.locator("#id_segment").select_option(label="WeChat first")
    page.get_by_test_id("run-report").click()

    expect(page).to_have_url(re.compile(r"where=properties.platform%3Aeq%3Aios"))
    expect(page).to_have_url(re.compile(rf"segment={store['segment'].pk}"))
    # the brute force: WeChat customers (i % 4 == 0) on iOS, who signed up (i % 3 != 2), who ordered (i % 3 == 0)
    entered = [i for i in range(60) if i % 4 == 0 and _platform(i) == "ios"]
    expected = [len(entered), len([i for i in entered if i % 3 != 2]), len([i for i in entered if i % 3 == 0])]
    table = page.get_by_test_id("funnel-table")
    expect(table.locator("tbody tr .step-count")).to_have_text([str(n) for n in expected])
    screenshot(page, "analytics-funnel-filtered-en")

    rows = _csv(_download(page, "export-link"))
    # the steps' rows (the file's last table, the conversion window, has no customers column of its own)
    assert [int(row["Customers"]) for row in rows if row["Customers"]] == expected
    still_open = next(key for key in rows[0] if "window is still open" in key)
    assert [row[still_open] for row in rows if row[still_open]] == ["0"]  # March's entrants: every window closed

    switch_language(page, "zh-hans")
    expect(page.locator("main h1")).to_have_text("漏斗")
    expect(table.locator("tbody tr .step-count")).to_have_text([str(n) for n in expected])
    screenshot(page, "analytics-funnel-filtered-zh-hans")
    assert page.failed_responses == []
    assert page.console_errors == []


def test_every_report_downloads_from_its_page_and_the_file_holds_the_pages_figures(page, live_server, store):
    log_in(page, live_server, "e2e_exports", PASSWORD)
    url = live_server.url

    # Funnel
    page.goto(f"{url}/analytics/funnel/?steps=visit&steps=signup&steps=order_paid&window_days=14&{RANGE}")
    counts = [_number(text) for text in
              page.get_by_test_id("funnel-table").locator("tbody tr .step-count").all_inner_texts()]
    assert counts == [60, 40, 20]
    assert [row["Customers"] for row in _sheets(_download(page, "export-link-xlsx"))["Funnel"]] == counts

    # Retention
    page.goto(f"{url}/analytics/retention/?cohort_event=visit&return_event=order_paid&period=week&periods=4&{RANGE}")
    size = _number(page.get_by_test_id("cohort-2026-03-02").locator(".cohort-size").inner_text())
    rows = _csv(_download(page, "export-link"))
    assert {row["Cohort"]: int(row["Customers"]) for row in rows if row["Customers"]}["2026-03-02"] == size == 21

    # Golden time
    page.goto(f"{url}/analytics/golden-time/?event=visit&{RANGE}")
    monday = [int(cell.get_attribute("data-count")) for cell in page.get_by_test_id("weekday-0").locator("td").all()]
    sheet = _sheets(_download(page, "export-link-xlsx"))["Golden time"]
    assert [sheet[0][f"{hour:02d}"] for hour in range(24)] == monday and sum(monday) > 0

    # Trends
    page.goto(f"{url}/analytics/trends/?event=order_paid&measure=sum&property=amount&interval=week&{RANGE}")
    values = [float(text.replace(",", "")) for text in
              page.get_by_test_id("trend-series-0").locator("td").all_inner_texts()]
    rows = _csv(_download(page, "export-link"))
    assert [float(row["Value"]) for row in rows] == values and sum(values) > 0

    # Stickiness
    page.goto(f"{url}/analytics/stickiness/?event=visit&{RANGE}")
    first = page.get_by_test_id("stickiness-table").locator("tbody tr").first.locator("td")
    days = _sheets(_download(page, "export-link-xlsx"))["Stickiness"]
    assert (days[0]["DAU"], days[0]["MAU"]) == (_number(first.nth(1).inner_text()), _number(first.nth(3).inner_text()))

    # Channel quality
    page.goto(f"{url}/users/channels/?{RANGE}")
    wechat = page.get_by_test_id("channel-table").locator("tbody tr", has_text="wechat").locator("td")
    rows = {row["channel"]: row for row in _csv(_download(page, "export-link"))}
    assert int(rows["wechat"]["visitors"]) == _number(wechat.nth(2).inner_text()) == 15
    assert int(rows["wechat"]["signups"]) == _number(wechat.nth(3).inner_text())

    # RFM (the customers page)
    page.goto(f"{url}/users/")
    grid = [_number(text) for text in page.get_by_test_id("rfm-grid").locator("strong").all_inner_texts()]
    cells = _sheets(_download(page, "export-link-xlsx"))["RFM grid"]
    assert [cell["customers"] for cell in cells] == grid and sum(grid) == 20

    # Life cycle
    page.goto(f"{url}/users/lifecycle/?{RANGE}")
    flow = page.get_by_test_id("flow-table").locator("tbody tr").first.locator("td")
    flows = _sheets(_download(page, "export-link-xlsx"))["Flows between stages"]
    assert flows[0]["customers"] == _number(flow.nth(2).inner_text()) == 6
    assert flows[0]["to_label"] == flow.nth(1).inner_text()

    # Merchant tiers
    page.goto(f"{url}/merchants/tiers/")
    expect(page.get_by_test_id("distribution")).to_contain_text("core: 1")
    tiers = _sheets(_download(page, "export-link-xlsx"))
    assert {row["tier"]: row["merchants"] for row in tiers["Merchants per tier"]}["core"] == 1
    assert [row["name"] for row in tiers["Candidates and rotate-out"]] == ["=HYPERLINK(\"http://x\")"]

    # Tickets: the list with a filter, and "my tickets"
    page.goto(f"{url}/products/tickets/?status=proposed")
    keys = page.get_by_test_id("ticket-row").locator("td:first-child").all_inner_texts()
    rows = _csv(_download(page, "export-link"))
    assert [row["key"] for row in rows] == keys and len(keys) == 2
    assert "'=1+1 coupon banner" in [row["title"] for row in rows]  # a formula neutralised
    page.goto(f"{url}/products/tickets/mine/")
    mine = _sheets(_download(page, "export-link-xlsx"))
    assert [row["title"] for row in next(iter(mine.values()))] == ["Faster checkout"]

    assert page.failed_responses == []
    assert page.console_errors == []
