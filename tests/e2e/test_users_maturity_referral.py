"""Channel quality, RFM and referral pages in Chromium, in English and Simplified Chinese (issue 14, items 4–6):
the range and ranking basis shown, young cohorts as —, the RFM F=1 column filled, invite codes resolved and the
unresolved referrer never linked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.services.loading import events_load
from ops_platform.core.invites import invite_code_of
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import event_row, local_time
from users.services.channels import channel_spend_save
from users.services.customers import customers_refresh

pytestmark = pytest.mark.browser


@pytest.fixture
def data(db):
    today = timezone.localdate()
    rows = []
    # wechat: customers 35–100 days old; douyin: 9 and 10 days old only (with the two referred: half are 30 days old)
    for i, (channel, age) in enumerate([("wechat", 100), ("wechat", 95), ("wechat", 40), ("wechat", 35),
                                        ("douyin", 10), ("douyin", 9)]):
        cid = f"c{i}"
        seen = local_time(today - timedelta(days=age), 9)
        rows += [event_row("visit", cid, seen, channel=channel), event_row("signup", cid, seen + timedelta(minutes=5))]
        for k in range(i + 1):  # 1…6 orders: six distinct frequencies
            rows.append(event_row("order_paid", cid, seen + timedelta(days=k, hours=2), order_id=f"{cid}-{k}",
                                  amount=10 + k, merchant_id="m"))
    seen = local_time(today - timedelta(days=3), 9)
    rows += [event_row("visit", "r1", seen, channel="referral"),
             event_row("signup", "r1", seen + timedelta(minutes=5), referrer=invite_code_of("c0")),
             event_row("visit", "r2", seen, channel="referral"),
             event_row("signup", "r2", seen + timedelta(minutes=6), referrer="invite")]
    events_load(rows)
    customers_refresh()
    channel_spend_save(channel="wechat", period_start=today - timedelta(days=120), period_end=today,
                       amount=Decimal("120"))
    return today


def test_channel_rfm_and_referral_pages_in_both_languages(page, live_server, make_staff, data, screenshot):
    page.set_default_timeout(60_000)  # a shared two-core machine: the first pages can be slow
    make_staff(Role.USER_OPS, username="e2e_uo")
    log_in(page, live_server, "e2e_uo", PASSWORD)
    date_from = (data - timedelta(days=119)).isoformat()

    page.goto(live_server.url + "/users/channels/")  # the default range: the last 30 days, too young for ROI
    expect(page.locator("input[name=date_from]")).to_have_value((data - timedelta(days=29)).isoformat())
    expect(page.get_by_test_id("range-used")).to_contain_text((data - timedelta(days=29)).isoformat())
    expect(page.get_by_test_id("ranking-basis")).to_contain_text("Not ranked on revenue")
    page.goto(live_server.url + f"/users/channels/?date_from={date_from}&date_to={data.isoformat()}")
    expect(page.get_by_test_id("ranking-basis")).to_contain_text("Ranked by ROI on 30-day revenue")
    douyin = page.get_by_test_id("channel-table").locator("tbody tr").filter(has_text="douyin")
    expect(douyin.locator("td").nth(8)).to_contain_text("—")
    wechat = page.get_by_test_id("channel-table").locator("tbody tr").filter(has_text="wechat")
    expect(wechat.locator("td").nth(8)).to_contain_text("(4 customers)")
    screenshot(page, "users-channels-maturity-en")

    page.goto(live_server.url + "/users/")
    grid = page.get_by_test_id("rfm-grid")
    first_column = grid.locator("tbody tr td:nth-child(2) strong")
    assert sum(int(text.replace(",", "")) for text in first_column.all_inner_texts()) >= 1

    page.goto(live_server.url + "/users/referral/")
    expect(page.get_by_test_id("top-referrers")).to_contain_text("c0")
    expect(page.locator("a[href='/users/customers/invite/']")).to_have_count(0)
    expect(page.get_by_test_id("unresolved-referrers")).to_contain_text("1 referred sign-up names no customer")
    screenshot(page, "users-referral-en")

    switch_language(page, "zh-hans")
    expect(page.get_by_test_id("unresolved-referrers")).to_contain_text("个推荐注册不对应任何客户")
    screenshot(page, "users-referral-zh-hans")
    page.goto(live_server.url + f"/users/channels/?date_from={date_from}&date_to={data.isoformat()}")
    expect(page.get_by_test_id("ranking-basis")).to_contain_text("按 30 天收入的 ROI 排名")
    expect(page.get_by_test_id("range-used")).to_contain_text("首次访问于")
    screenshot(page, "users-channels-maturity-zh-hans")
    page.goto(live_server.url + "/users/customers/r2/")
    expect(page.get_by_test_id("referrer")).to_contain_text("无法识别")
    assert page.failed_responses == []
    assert page.console_errors == []
