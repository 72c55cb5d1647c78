"""Top-bar counters: the page renders the link and the endpoint; the number comes from that endpoint."""

from __future__ import annotations

import pytest

from ops_platform.core.context_processors import _counters
from ops_platform.core.roles import Role
from ops_platform.core.topbar import TopbarCounter, topbar_counter_register, topbar_counters
from products.services.tickets import ticket_comment_add, ticket_create

pytestmark = pytest.mark.django_db


def test_every_page_links_the_counter_and_its_endpoint_answers_the_count(client_for, make_staff):
    pm = make_staff(Role.PM, username="pm_bar")
    analyst = make_staff(Role.ANALYST)
    ticket = ticket_create(requester=pm, title="Coupon pack", owner_pm=pm)
    ticket_comment_add(ticket_id=ticket.pk, author=analyst, body="@pm_bar have a look")
    client = client_for(Role.PM)
    client.force_login(pm)

    html = client.get("/merchants/").content.decode()
    assert 'data-testid="topbar-notifications"' in html
    assert 'data-count-url="/api/v1/products/notifications/?unread=true&amp;page_size=1"' in html
    assert client.get("/api/v1/products/notifications/?unread=true&page_size=1").json()["count"] == 1


def test_a_counter_whose_urls_do_not_exist_is_left_out(monkeypatch):
    registry = dict(topbar_counters())
    monkeypatch.setattr("ops_platform.core.topbar._COUNTERS", registry)
    topbar_counter_register("ghost", TopbarCounter(url_name="nowhere:page", label="Ghost",
                                                   count_url_name="nowhere-api"))

    assert [counter["name"] for counter in _counters()] == ["alerts", "notifications"]


def test_anonymous_pages_have_no_counters(client):
    assert "topbar-notifications" not in client.get("/login/").content.decode()
