"""Links to customers with odd ids, followed in Chromium (tests/test_any_id_in_url.py covers every page and API)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from ops_platform.core.roles import Role
from tests.conftest import PASSWORD
from tests.e2e.test_login_dashboard import log_in
from tests.test_any_id_in_url import odd_customers  # noqa: F401 — the fixture

pytestmark = pytest.mark.browser


def test_links_to_odd_ids_survive_a_real_browser(page, live_server, make_staff, odd_customers):  # noqa: F811
    """Chromium folds "." and ".." path segments and stops at "?" and "#": the links must not let it."""
    make_staff(Role.USER_OPS, username="uo")
    log_in(page, live_server, "uo", PASSWORD)
    expect(page.get_by_test_id("whoami")).to_be_visible()

    for distinct_id in ["../../admin", "..", ".", "what?x=1", "#1", "a/b", "50%off", "张三"]:
        page.goto(live_server.url + "/users/customers/")
        page.locator(f'a[href="{reverse("users:customer", args=[distinct_id])}"]').first.click()
        expect(page.get_by_test_id("customer-id")).to_have_text(distinct_id)
