"""The top bar's unread-notification counter, filled in by the browser after the page loads."""

from __future__ import annotations

from playwright.sync_api import expect

from ops_platform.core.roles import Role
from products.services.tickets import ticket_comment_add, ticket_create
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in


def test_unread_notifications_show_in_the_top_bar_until_read(page, live_server, make_staff, screenshot):
    pm = make_staff(Role.PM, username="pm_top", )
    analyst = make_staff(Role.ANALYST, username="analyst_top", )
    ticket = ticket_create(requester=pm, title="Coupon pack", owner_pm=pm)
    ticket_comment_add(ticket_id=ticket.pk, author=analyst, body="@pm_top the plan misses `coupon_shown`")
    ticket_comment_add(ticket_id=ticket.pk, author=analyst, body="and `coupon_claimed`")

    log_in(page, live_server, "pm_top", PASSWORD)
    counter = page.get_by_test_id("topbar-notifications")
    expect(counter.locator(".counter-badge")).to_have_text("2")
    expect(counter).to_have_class("topbar-counter has-items")
    screenshot(page, "topbar-notifications")

    counter.click()
    expect(page.get_by_role("link", name=f"analyst_top mentioned you on {ticket.key}")).to_be_visible()
    page.get_by_role("button", name="Mark all read").click()
    expect(counter).to_have_attribute("data-count", "0")
    expect(counter.locator(".counter-badge")).to_be_hidden()
    assert page.failed_responses == [] and page.console_errors == []
