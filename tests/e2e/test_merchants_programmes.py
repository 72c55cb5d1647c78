"""Merchant operations' programmes in Chromium: an operator creates a campaign (a bad period is shown beside its
field first), invites their merchants of a tier and category in bulk and records an answer; then creates a training
session, enrols merchants and marks who attended, which certifies one of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from merchants.models import Campaign, CampaignInvite, Certification, Enrolment, TrainingSession
from merchants.services.training import course_create
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in
from tests.factories import MerchantFactory

pytestmark = pytest.mark.browser


def _bad_request(live_server, path: str) -> str:
    """What Chromium logs for a form answered 400 (shown again with its errors): expected, not a page error."""
    return f"Failed to load resource: the server responded with a status of 400 (Bad Request) ({live_server.url}{path})"


def test_create_a_campaign_invite_merchants_and_record_an_answer(page, live_server, make_staff, screenshot):
    ops = make_staff(Role.MERCHANT_OPS, username="e2e_camp")
    MerchantFactory(code="P0001", name="Dumpling Bar", owner=ops, tier="potential", category="food")
    MerchantFactory(code="P0002", name="Tea House", owner=ops, tier="potential", category="drinks")
    MerchantFactory(code="C0001", name="Hotpot King", owner=ops, tier="core", category="food")
    start = timezone.localdate()  # it starts today: merchants can take part

    log_in(page, live_server, "e2e_camp", PASSWORD)
    page.goto(live_server.url + "/merchants/campaigns/")
    form = page.get_by_test_id("campaign-new")
    form.locator("input[name=name]").fill("Spring lunch discount")
    form.locator("select[name=kind]").select_option("discount")
    form.locator("input[name=starts_on]").fill(start.isoformat())
    form.locator("input[name=ends_on]").fill((start - timedelta(days=1)).isoformat())
    form.locator("input[name=budget]").fill("5000")
    form.get_by_label("potential").check()
    form.locator("input[name=target_categories]").fill("food")
    with page.expect_navigation():
        form.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("error-ends_on")).to_have_text("Must be on or after the start.")
    screenshot(page, "merchants-6-campaign-field-error")

    form = page.get_by_test_id("campaign-new")
    form.locator("input[name=ends_on]").fill((start + timedelta(days=13)).isoformat())
    with page.expect_navigation():
        form.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_contain_text("Spring lunch discount")

    invite = page.get_by_test_id("invite-form")
    expect(invite.get_by_label("potential")).to_be_checked()
    expect(invite.get_by_label("food")).to_be_checked()
    with page.expect_navigation():
        page.get_by_test_id("invite").click()
    expect(page.get_by_test_id("invites")).to_contain_text("P0001 Dumpling Bar")
    expect(page.get_by_test_id("invites")).not_to_contain_text("P0002")
    expect(page.get_by_test_id("invites")).not_to_contain_text("C0001")

    row = page.get_by_test_id("invite-P0001")
    row.locator("select[name=status]").select_option("accepted")
    with page.expect_navigation():
        row.get_by_role("button", name="Record").click()
    expect(page.get_by_test_id("invite-P0001").get_by_test_id("invite-status")).to_have_text("accepted")
    row = page.get_by_test_id("invite-P0001")
    row.locator("select[name=status]").select_option("took_part")
    with page.expect_navigation():
        row.get_by_role("button", name="Record").click()
    expect(page.get_by_test_id("invite-P0001").get_by_test_id("invite-status")).to_have_text("took part")
    expect(page.get_by_test_id("took-part")).to_have_text("1")
    screenshot(page, "merchants-7-campaign-invited-took-part")

    campaign = Campaign.objects.get()
    assert (campaign.target_tiers, campaign.target_categories) == (["potential"], ["food"])
    assert list(CampaignInvite.objects.values_list("merchant__code", "status")) == [("P0001", "took_part")]
    assert page.console_errors == [_bad_request(live_server, "/merchants/campaigns/")]  # the refused form


def test_create_a_session_enrol_merchants_and_mark_attendance(page, live_server, make_staff, screenshot):
    ops = make_staff(Role.MERCHANT_OPS, username="e2e_train")
    course_create(user=ops, code="C101", name="Getting started", required_for=["potential"])
    MerchantFactory(code="T0001", name="Bun Shop", owner=ops, tier="potential")
    MerchantFactory(code="T0002", name="Rice Bowl", owner=ops, tier="potential")
    when = timezone.localtime() + timedelta(days=2)

    log_in(page, live_server, "e2e_train", PASSWORD)
    page.goto(live_server.url + "/merchants/training/")
    form = page.get_by_test_id("session-new")
    form.locator("select[name=course]").select_option(label="C101 Getting started")
    form.locator("input[name=starts_at]").fill(when.strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=trainer]").fill("Ms Li")
    form.locator("input[name=capacity]").fill("12")
    with page.expect_navigation():
        form.get_by_role("button", name="Add session").click()
    expect(page.get_by_test_id("error-place")).to_have_text("Required.")
    form = page.get_by_test_id("session-new")
    form.locator("input[name=place]").fill("Xuhui office, room 3")
    with page.expect_navigation():
        form.get_by_role("button", name="Add session").click()
    expect(page.locator("h1")).to_contain_text("C101 Getting started")

    picker = page.get_by_test_id("enrol-form").locator(".ts-control input")  # a searchable picker (pickers.js)
    for typed, label in (("Bun", "T0001 Bun Shop"), ("T0002", "T0002 Rice Bowl")):
        picker.fill(typed)
        page.locator(".ts-dropdown .option", has_text=label).click()
    page.locator("h1").click()  # leave the picker: its list of options closes
    with page.expect_navigation():
        page.get_by_test_id("enrol").click()
    expect(page.get_by_test_id("enrolments")).to_contain_text("T0001 Bun Shop")
    expect(page.get_by_test_id("enrolments")).to_contain_text("T0002 Rice Bowl")

    attendance = page.get_by_test_id("attendance-form")
    attendance.get_by_role("row", name="T0001 Bun Shop").get_by_label("attended").check()
    attendance.get_by_role("row", name="T0002 Rice Bowl").get_by_label("absent").check()
    with page.expect_navigation():
        page.get_by_test_id("save-attendance").click()
    expect(page.get_by_text("Attendance saved; 1 merchant certified.")).to_be_visible()
    expect(page.get_by_test_id("enrolment-T0001").get_by_test_id("enrolment-status")).to_have_text("attended")
    expect(page.get_by_test_id("enrolment-T0002").get_by_test_id("enrolment-status")).to_have_text("absent")
    screenshot(page, "merchants-8-session-attendance")

    session = TrainingSession.objects.get()
    assert (session.place, session.capacity, session.trainer) == ("Xuhui office, room 3", 12, "Ms Li")
    assert dict(Enrolment.objects.values_list("merchant__code", "status")) == {"T0001": "attended",
                                                                               "T0002": "absent"}
    assert list(Certification.objects.values_list("merchant__code", "tier")) == [("T0001", "potential")]
    assert page.console_errors == [_bad_request(live_server, "/merchants/training/sessions/new/")]
