"""Ingest keys in a real browser: an admin creates a key, sees it once and revokes it; an analyst only reads."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from analytics.models import IngestKey
from analytics.services.keys import ingest_key_create, ingest_key_hash
from ops_platform.core.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/analytics/ingest-keys/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/analytics/ingest-keys/$"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(live_server.url + "/analytics/ingest-keys/")


def test_admin_creates_a_key_sees_it_once_and_revokes_it(page, live_server, make_staff, screenshot):
    make_staff(Role.ADMIN, username="e2e_admin")
    log_in(page, live_server, "e2e_admin")
    expect(page.get_by_test_id("no-keys")).to_be_visible()

    page.get_by_test_id("new-key").click()
    page.get_by_label("Name").fill("marketplace backend")
    page.get_by_role("button", name="Create key").click()

    expect(page.locator("main h1")).to_have_text("Ingest key created")
    secret = page.get_by_test_id("new-key-secret").inner_text()
    expect(page.locator("main")).to_contain_text("it is shown only this once")
    key = IngestKey.objects.get()
    assert key.key_hash == ingest_key_hash(secret)
    page.wait_for_load_state("load")  # the button's handler is static/js/copy-secret.js, at the end of <body>
    page.get_by_test_id("copy-key").click()
    screenshot(page, "ingest-key-created")

    page.get_by_test_id("back-to-keys").click()
    row = page.get_by_test_id(f"key-{key.pk}")
    expect(row).to_contain_text("marketplace backend")
    expect(row).to_contain_text(f"{key.prefix}…")
    expect(row).to_contain_text("Never")
    expect(row).to_contain_text("Active")
    assert secret not in page.content()

    row.get_by_role("link", name="Revoke").click()
    expect(page.locator("main")).to_contain_text("This cannot be undone.")
    page.get_by_test_id("confirm-revoke").click()

    expect(page).to_have_url(live_server.url + "/analytics/ingest-keys/")
    expect(page.locator(".messages")).to_contain_text("Key “marketplace backend” revoked")
    expect(page.get_by_test_id(f"key-{key.pk}")).to_contain_text("Revoked")
    expect(page.get_by_test_id(f"revoke-{key.pk}")).to_have_count(0)
    screenshot(page, "ingest-keys-admin")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert page.failed_responses == []
    assert page.console_errors == []


def test_analyst_sees_the_list_without_buttons(page, live_server, make_staff, screenshot):
    key, _ = ingest_key_create(name="marketplace backend")
    make_staff(Role.ANALYST, username="e2e_analyst")

    log_in(page, live_server, "e2e_analyst")

    expect(page.locator("main h1")).to_have_text("Ingest keys")
    expect(page.get_by_test_id(f"key-{key.pk}")).to_contain_text("marketplace backend")
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    expect(page.get_by_test_id(f"revoke-{key.pk}")).to_have_count(0)
    expect(page.locator("main").get_by_role("button")).to_have_count(0)
    expect(page.locator("nav.mainnav a", has_text="Ingest keys")).to_have_attribute("aria-current", "page")
    screenshot(page, "ingest-keys-analyst")
    assert page.failed_responses == []
    assert page.console_errors == []
