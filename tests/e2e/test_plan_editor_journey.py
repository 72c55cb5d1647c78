"""Issue 17 in Chromium: the gate is shown before it bites, the PM builds the tracking plan in the form (an error
beside the field, fixed), sees the changes, sends it; the analyst is notified and approves; the move opens.
Screenshots of the editor and the ticket's gates in English and Chinese, wide and narrow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ops_platform.core.roles import Role
from products.models import Ticket, TrackingPlan
from products.services.tickets import ticket_create, ticket_move
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in, switch_language
from tests.e2e.test_products_journey import log_out, move

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent.parent.parent / "gates-shots"


def _shots(page, screenshot, name: str) -> None:
    """The page wide (1280) and narrow (390), kept in test-artifacts/ and copied to the worktree's shots folder."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        path = screenshot(page, f"{name}-{width}")
        if SHOTS.parent.exists():
            SHOTS.mkdir(exist_ok=True)
            shutil.copy(path, SHOTS / path.name)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_pm_builds_the_plan_in_the_form_analyst_approves_move_opens(page, live_server, make_staff, screenshot):
    ops = make_staff(Role.USER_OPS, username="e2e_ops")
    pm = make_staff(Role.PM, username="e2e_pm", first_name="Wei")
    make_staff(Role.ANALYST, username="e2e_analyst", first_name="Fang")
    ticket = ticket_create(requester=ops, title="Welcome coupon on sign-up", owner_pm=pm)
    for state in ("triaged", "designing", "in_development", "testing"):
        ticket_move(ticket_id=ticket.pk, actor=pm, to_status=state)

    # The PM sees the gate before clicking: greyed out, why, and the way to fix it.
    log_in(page, live_server, "e2e_pm", PASSWORD)
    page.goto(live_server.url + f"/products/tickets/{ticket.pk}/")
    expect(page.get_by_test_id("blocked-move-ready_to_launch")).to_be_disabled()
    expect(page.get_by_test_id("gated-ready_to_launch")).to_contain_text(
        "Ready to launch needs an approved tracking plan (打點) first.")
    expect(page.get_by_test_id("next-step")).to_have_text("Your turn: draft the tracking plan.")
    _shots(page, screenshot, "gates-ticket-en")
    switch_language(page, "zh-hans")
    _shots(page, screenshot, "gates-ticket-zh-hans")
    switch_language(page, "en")
    with page.expect_navigation():
        page.get_by_test_id("fix-ready_to_launch").click()

    # The editor: one empty event with one property to start with.
    expect(page.get_by_test_id("pe-event")).to_have_count(1)
    expect(page.get_by_test_id("pe-json")).to_be_hidden()
    event = page.get_by_test_id("pe-event").nth(0)
    event.get_by_test_id("pe-event-name").fill("signup")
    event.locator("[data-path='events[0].description']").fill("An account is created")
    event.get_by_test_id("pe-property-name").nth(0).fill("referrer")
    event.locator("[data-path='events[0].properties[0].required']").uncheck()

    # A second property: the name is pre-checked while typing, the message beside the field.
    event.get_by_test_id("pe-add-property").click()
    second = event.get_by_test_id("pe-property").nth(1)
    second.get_by_test_id("pe-property-name").fill("Age Group")
    expect(second.locator(".pe-error").first).to_have_text(
        "Use lower-case letters, digits and underscores, starting with a letter.")
    second.get_by_test_id("pe-property-name").fill("age_group")
    expect(second.locator(".pe-error").first).to_have_text("")
    second.locator("[data-path='events[0].properties[1].type']").select_option("integer")
    second.get_by_test_id("pe-property-allowed").fill("young, old")

    # A second event.
    page.get_by_test_id("pe-add-event").click()
    expect(page.get_by_test_id("pe-event")).to_have_count(2)
    other = page.get_by_test_id("pe-event").nth(1)
    other.get_by_test_id("pe-event-name").fill("first_order")
    other.get_by_test_id("pe-property-name").nth(0).fill("amount")
    other.locator("[data-path='events[1].properties[0].type']").select_option("number")

    # The server is the truth: its message comes back beside the allowed values it names.
    with page.expect_navigation():
        page.get_by_test_id("save-plan").click()
    allowed = page.get_by_test_id("pe-event").nth(0).get_by_test_id("pe-property").nth(1)
    expect(allowed.locator("[data-path='events[0].properties[1].allowed']")).to_have_attribute("aria-invalid", "true")
    expect(allowed).to_contain_text("Allowed values must be a list of integer values.")
    expect(page.get_by_test_id("plan-error")).to_contain_text("The tracking plan has invalid fields")
    _shots(page, screenshot, "gates-plan-editor-error-en")
    assert TrackingPlan.objects.count() == 0
    allowed.get_by_test_id("pe-property-allowed").fill("18, 30, 45")
    expect(allowed.locator(".pe-field:has([data-path$='.allowed']) .pe-error")).to_have_text("")

    # The JSON behind the toggle says where it is broken.
    page.get_by_test_id("pe-json-toggle").click()
    text = page.locator("#id_events").input_value()
    assert '"age_group"' in text and "45" in text
    page.locator("#id_events").fill(text.replace('"first_order"', '"first_order",,'))
    expect(page.get_by_test_id("json-live-error")).to_contain_text("Not valid JSON — line")
    page.locator("#id_events").fill(text)
    expect(page.get_by_test_id("json-live-error")).to_have_text("")
    page.get_by_test_id("pe-json-toggle").click()

    # Saved: the changes against the approved version (none yet), then sent for review.
    with page.expect_navigation():
        page.get_by_test_id("save-plan").click()
    expect(page.get_by_test_id("plan-diff")).to_contain_text("New event signup with 2 properties: referrer, age_group")
    expect(page.get_by_test_id("plan-diff")).to_contain_text("New event first_order with 1 property: amount")
    _shots(page, screenshot, "gates-plan-editor-en")
    switch_language(page, "zh-hans")
    _shots(page, screenshot, "gates-plan-editor-zh-hans")
    switch_language(page, "en")
    with page.expect_navigation():
        page.get_by_test_id("submit-plan").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("in review")
    expect(page.get_by_test_id("next-step")).to_have_text("Waiting for Fang to review tracking plan v1.")
    expect(page.get_by_test_id("fix-ready_to_launch")).to_have_text("Plan v1 is in review")
    log_out(page)

    # The analyst is notified (and the desk lists it); the notification leads to the ticket, where they approve.
    log_in(page, live_server, "e2e_analyst", PASSWORD)
    expect(page.get_by_test_id("todo-plan_reviews")).to_contain_text("Welcome coupon on sign-up")
    page.goto(live_server.url + "/products/notifications/")
    note = page.get_by_test_id("notifications").get_by_role("link", name="awaits your review")
    expect(note).to_have_text(f"Tracking plan v1 of {ticket.key} awaits your review: Welcome coupon on sign-up")
    with page.expect_navigation():
        note.click()
    expect(page.get_by_test_id("next-step")).to_have_text("Your turn: review tracking plan v1.")
    with page.expect_navigation():
        page.get_by_test_id("approve-plan").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("approved")
    expect(page.get_by_test_id("next-step")).to_have_text("Waiting for Wei to move it to “ready to launch”.")
    log_out(page)

    # The PM's move is open now.
    log_in(page, live_server, "e2e_pm", PASSWORD)
    page.goto(live_server.url + f"/products/tickets/{ticket.pk}/")
    expect(page.get_by_test_id("blocked-move-ready_to_launch")).to_have_count(0)
    move(page, "ready_to_launch")
    assert Ticket.objects.get(pk=ticket.pk).status == "ready_to_launch"
    assert TrackingPlan.objects.get().events[0]["properties"][1] == {
        "name": "age_group", "type": "integer", "required": False, "description": "", "allowed": [18, 30, 45]}
    # Only the refused save (a 400 with the field errors, on purpose) shows in the console.
    assert [error for error in page.console_errors if "status of 400" not in error or "/plan/" not in error] == []
