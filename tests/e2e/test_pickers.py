"""The searchable pickers and the rule builder's unknown-event warning in Chromium: an operator enrols merchants by
typing into the picker with the keyboard only (the options come from the search endpoint, the page carries none),
at 1280 and 390 px, in English and Chinese; a user operator mistypes an event in the rule builder and is told the
nearest stored names beside the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.services.loading import events_load
from merchants.models import Enrolment
from merchants.services.training import course_create, training_session_create
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.factories import MerchantFactory, event_row

pytestmark = pytest.mark.browser
SHOTS = "pickers"


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_enrol_merchants_by_typing_into_the_picker_with_the_keyboard(page, live_server, make_staff, screenshot):
    ops = make_staff(Role.MERCHANT_OPS, username="e2e_picker")
    course = course_create(user=ops, code="C101", name="Getting started", required_for=[])
    session = training_session_create(user=ops, course=course, starts_at=timezone.now() + timedelta(days=2),
                                      trainer="Li", online=True, capacity=300)
    MerchantFactory(code="T0001", name="Bun Shop", owner=ops)
    MerchantFactory(code="T0002", name="Rice Bowl", owner=ops)
    for i in range(3, 230):
        MerchantFactory(code=f"T{i:04d}", name=f"Shop {i}", owner=ops)

    log_in(page, live_server, "e2e_picker", PASSWORD)
    page.goto(live_server.url + f"/merchants/training/sessions/{session.pk}/")
    form = page.get_by_test_id("enrol-form")
    assert form.locator("select[name=merchants] option").count() == 0  # nothing shipped: loaded by search
    box = form.locator(".ts-control input")
    expect(box).to_have_attribute("placeholder", "Type to search")
    box.focus()
    page.keyboard.type("bun")
    expect(page.locator(".ts-dropdown .option").first).to_have_text("T0001 Bun Shop")
    page.keyboard.press("Enter")
    page.keyboard.type("zzzz")
    expect(page.locator(".ts-dropdown .no-results")).to_have_text("No results")
    for _ in range(4):
        page.keyboard.press("Backspace")
    page.keyboard.type("T0002")
    expect(page.locator(".ts-dropdown .option").first).to_have_text("T0002 Rice Bowl")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")  # the list of options closes; the choices stay
    expect(page.locator(".ts-dropdown")).to_be_hidden()
    page.locator("h1").click()  # and the picker is left
    expect(form.locator(".ts-control .item")).to_have_count(2)
    screenshot(page, f"{SHOTS}-enrol-1280")
    page.set_viewport_size({"width": 390, "height": 800})
    _no_sideways_scroll(page)
    screenshot(page, f"{SHOTS}-enrol-390")
    with page.expect_navigation():
        page.get_by_test_id("enrol").click()
    expect(page.get_by_test_id("enrolments")).to_contain_text("T0001 Bun Shop")
    expect(page.get_by_test_id("enrolments")).to_contain_text("T0002 Rice Bowl")
    assert Enrolment.objects.filter(session=session).count() == 2

    switch_language(page, "zh-hans")
    box = page.get_by_test_id("enrol-form").locator(".ts-control input")
    expect(box).to_have_attribute("placeholder", "输入以搜索")
    box.focus()
    page.keyboard.type("zzzz")
    expect(page.locator(".ts-dropdown .no-results")).to_have_text("没有结果")
    for _ in range(4):
        page.keyboard.press("Backspace")
    page.keyboard.type("Shop 12")
    expect(page.locator(".ts-dropdown .option").first).to_contain_text("Shop 12")
    _no_sideways_scroll(page)
    screenshot(page, f"{SHOTS}-enrol-390-zh-hans")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, f"{SHOTS}-enrol-1280-zh-hans")
    assert page.console_errors == []


def test_an_unknown_event_in_the_rule_builder_is_named_beside_its_field(page, live_server, make_staff, screenshot):
    make_staff(Role.USER_OPS, username="e2e_rules")
    now = timezone.now()
    events_load([event_row("order_paid", "alice", now - timedelta(days=1), order_id="1", amount=5),
                 event_row("visit", "alice", now - timedelta(days=2), channel="wechat")])

    log_in(page, live_server, "e2e_rules", PASSWORD)
    page.goto(live_server.url + "/users/segments/")
    builder = page.get_by_test_id("rule-builder")
    builder.get_by_test_id("rb-add-condition").click()
    condition = builder.get_by_test_id("rb-condition").nth(0)
    condition.locator(".rb-kind").select_option("event")
    condition = builder.get_by_test_id("rb-condition").nth(0)
    condition.locator(".rb-event").fill("order_payed")
    expect(condition.locator(".rb-error")).to_have_text(
        "No event named “order_payed” has been stored. Nearest: order_paid, order_received.")
    expect(condition.locator(".rb-event")).to_have_attribute("aria-invalid", "true")
    assert page.locator("#rb-events-list option[value=order_paid]").count() == 1
    screenshot(page, f"{SHOTS}-rule-unknown-event-1280")
    page.set_viewport_size({"width": 390, "height": 800})
    screenshot(page, f"{SHOTS}-rule-unknown-event-390")
    condition.locator(".rb-event").fill("order_paid")
    expect(condition.locator(".rb-error")).to_have_text("")
    expect(page.get_by_test_id("rb-size")).to_have_attribute("data-size", "0")
