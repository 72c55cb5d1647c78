"""Any distinct_id in a URL: ingestion accepts any text up to 200 characters, so every page and API that links to a
customer takes any of them (ops_platform/core/fields.py, ``<text:…>``).

Before 2026-12 a distinct_id with "/" made ``{% url 'users:customer' … %}`` raise NoReverseMatch: /users/customers/,
/users/referral/ and segment member lists answered 500 for everyone, and an ingest key could keep such a customer on
page 1.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.services.loading import events_load
from ops_platform.core.roles import Role
from tests.factories import event_row
from users.services.customers import customers_refresh
from users.services.segments import segment_save

IDS = ["a/b", "/leading", "trailing/", "what?x=1", "#1", "50%off", "a%2Fb", "with space", "张三", "..", ".",
       "../../admin", "a\\b", "tab\there", "é+&=;", "x" * 200]


@pytest.fixture
def odd_customers(db):
    now = timezone.now()
    rows = []
    for n, distinct_id in enumerate(IDS):
        rows += [event_row("visit", distinct_id, now - timedelta(days=3, minutes=n), channel="wechat"),
                 event_row("signup", distinct_id, now - timedelta(days=3, minutes=n) + timedelta(seconds=30),
                           referrer=IDS[(n + 1) % len(IDS)])]
    rows.append(event_row("order_paid", "a/b", now - timedelta(days=1), order_id="1", amount=9, merchant_id="m"))
    events_load(rows)
    customers_refresh()


def test_every_customer_page_answers_for_any_id(client_for, odd_customers):
    client = client_for(Role.USER_OPS)

    listing = client.get("/users/customers/")
    referral = client.get("/users/referral/")

    assert listing.status_code == 200
    assert referral.status_code == 200
    for distinct_id in IDS:
        url = reverse("users:customer", args=[distinct_id])
        assert url.startswith("/users/customers/") and url.count("/") == 4, url  # one segment, whatever the id
        assert f'href="{url}"' in listing.content.decode()
        page = client.get(url)
        assert page.status_code == 200, (distinct_id, url)
        assert page.context["customer"].distinct_id == distinct_id


def test_segment_member_lists_link_any_id(client_for, odd_customers):
    segment = segment_save(name="All", rules={"op": "and", "conditions": [
        {"field": "first_seen_at", "operator": "within_days", "value": 30}]})

    response = client_for(Role.ANALYST).get(f"/users/segments/{segment.pk}/")

    assert response.status_code == 200
    assert reverse("users:customer", args=["a/b"]) in response.content.decode()


def test_the_api_takes_any_id_encoded_once_or_as_reverse_writes_it(api_client_for, odd_customers):
    client = api_client_for(Role.ANALYST)

    for distinct_id in IDS:
        response = client.get(reverse("customer-detail", args=[distinct_id]))
        assert response.status_code == 200, distinct_id
        assert response.json()["distinct_id"] == distinct_id
    by_hand = client.get("/api/v1/users/customers/" + quote("a/b", safe="") + "/")
    assert by_hand.json()["distinct_id"] == "a/b"


@pytest.mark.parametrize("path", ["/users/customers/%00/", "/users/customers/" + "y" * 201 + "/",
                                  "/users/customers/nobody/", "/users/customers/%25/"])
def test_impossible_or_unknown_ids_are_a_404_not_a_500(client_for, odd_customers, path):
    assert client_for(Role.USER_OPS).get(path).status_code == 404


def test_impossible_ids_are_a_404_in_the_api_too(db, make_staff):
    client = APIClient()
    client.force_authenticate(make_staff(Role.ANALYST))

    assert client.get("/api/v1/users/customers/%00/").status_code == 404
