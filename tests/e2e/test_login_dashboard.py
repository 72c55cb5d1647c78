"""Each role logs in through the real login page, sees the dashboard and its navigation, switches language."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from analytics.services.loading import events_load
from ops_platform.accounts.models import Staff
from ops_platform.core.context_processors import NAV_ITEMS
from ops_platform.core.roles import Role, can
from tests.conftest import PASSWORD
from tests.factories import MerchantFactory, TicketFactory, event_row, local_time

pytestmark = pytest.mark.browser

# The dashboard heading as the compiled catalogues in locale/ translate it.
DASHBOARD_HEADING = {"en": "Dashboard", "zh-hans": "仪表盘", "zh-hant": "儀表盤"}
LANGUAGE_OPTION = {"zh-hans": "简体中文", "zh-hant": "繁體中文"}


@pytest.fixture
def seeded(make_staff):
    """7 events by 3 customers, 2 merchants (1 live), 1 open and 1 closed ticket."""
    today = timezone.localdate()
    events_load([
        event_row("visit", "c1", local_time(today, 0, 5), channel="wechat"),
        event_row("signup", "c1", local_time(today, 0, 6)),
        event_row("order_paid", "c1", local_time(today, 0, 7), order_id="o1", amount=25, merchant_id="M00001"),
        event_row("visit", "c2", local_time(today, 0, 8), channel="douyin"),
        event_row("signup", "c2", local_time(today, 0, 9), referrer="c1"),
        event_row("visit", "c3", local_time(today, 0, 10), channel="douyin"),
        event_row("visit", "c3", local_time(today, 0, 11), channel="douyin"),
    ])
    owner = make_staff(Role.MERCHANT_OPS, username="e2e_owner")
    MerchantFactory(owner=owner, stage="live")
    MerchantFactory(owner=owner, stage="lead")
    TicketFactory(requester=owner)
    TicketFactory(requester=owner, status="concluded")


def expected_nav(staff: Staff) -> list[str]:
    labels = []
    with translation.override("en"):
        for url_name, label, area in NAV_ITEMS:
            try:
                reverse(url_name)
            except NoReverseMatch:
                continue
            if can(staff, area):
                labels.append(str(label))
    return labels


def check_heading(page, language: str) -> None:
    expect(page.locator("main h1")).to_have_text(DASHBOARD_HEADING[language])


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    # The click returns once the next page is committed, before its scripts (some deferred, some at the end of
    # <body>) have run: a test pressing a key or clicking a scripted button then sometimes did nothing. Return once
    # the page has loaded (the dashboard, or the login page again after a refused password).
    page.wait_for_load_state("load")


def switch_language(page, language: str) -> None:
    # The menu submits itself from a script at the end of <body>: the top bar is painted (and a test can pick a
    # language) before that script has run, and then nothing happens. Wait for the page's load event first.
    page.wait_for_load_state("load")
    with page.expect_navigation():
        page.get_by_test_id("language-select").select_option(language)
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_role_logs_in_sees_the_dashboard_and_switches_language(page, live_server, make_staff, seeded, screenshot,
                                                               role):
    staff = make_staff(role, username=f"e2e_{role}", first_name="Mei", last_name=str(role).title())

    log_in(page, live_server, staff.username, PASSWORD)

    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Dashboard")
    expect(page.get_by_test_id("kpi-events").locator(".kpi-value")).to_have_text("7")
    expect(page.get_by_test_id("kpi-customers").locator(".kpi-value")).to_have_text("3")
    expect(page.get_by_test_id("kpi-merchants").locator(".kpi-value")).to_have_text("2")
    expect(page.get_by_test_id("kpi-merchants").locator(".kpi-sub")).to_have_text("1 live")
    expect(page.get_by_test_id("kpi-tickets").locator(".kpi-value")).to_have_text("1")
    expect(page.get_by_test_id("whoami")).to_contain_text(role.value)
    nav = page.locator("nav.mainnav a")
    expect(nav).to_have_text(expected_nav(staff))
    if role == Role.ADMIN:
        expect(nav.filter(has_text="Admin")).to_have_count(1)
    else:
        expect(nav.filter(has_text="Admin")).to_have_count(0)
    expect(nav.get_by_text("Dashboard", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator("#events-chart")).to_be_visible()
    screenshot(page, f"dashboard-{role}-en")

    for language in ("zh-hans", "zh-hant"):
        switch_language(page, language)

        expect(page.get_by_test_id("language-select")).to_have_value(language)
        expect(page.get_by_test_id("language-select").locator("option:checked")).to_have_text(
            LANGUAGE_OPTION[language])
        expect(page.get_by_test_id("kpi-events").locator(".kpi-value")).to_have_text("7")
        check_heading(page, language)
        screenshot(page, f"dashboard-{role}-{language}")
        staff.refresh_from_db()
        assert staff.language == language

    assert page.failed_responses == []
    assert page.console_errors == []


def test_saved_language_follows_the_staff_member_to_a_new_browser(page, live_server, make_staff, seeded):
    make_staff(Role.PM, username="e2e_lang", language="zh-hans")

    log_in(page, live_server, "e2e_lang", PASSWORD)

    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    check_heading(page, "zh-hans")


def test_bad_password_shows_the_error(page, live_server, make_staff, screenshot):
    make_staff(Role.ANALYST, username="e2e_ana")

    log_in(page, live_server, "e2e_ana", "not-the-password")

    expect(page).to_have_url(re.compile(r"/login/"))
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Your username and password didn't match")
    expect(page.locator("#id_username")).to_have_value("e2e_ana")
    expect(page.locator("#id_password")).to_have_value("")
    expect(page.locator("nav.mainnav")).to_have_count(0)
    screenshot(page, "login-bad-password")


def test_log_out_returns_to_the_login_page(page, live_server, make_staff):
    make_staff(Role.USER_OPS, username="e2e_out")
    log_in(page, live_server, "e2e_out", PASSWORD)
    expect(page.locator("main h1")).to_have_text("Dashboard")

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(live_server.url + "/login/")
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
