"""GET /api/v1/analytics/aarrr/: the stored rows, exactly as DESIGN.md names them, paginated; bad input is a 400."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import AarrrDaily
from ops_platform.core.roles import Role

URL = "/api/v1/analytics/aarrr/"
DAY = date(2026, 3, 10)


@pytest.fixture
def stored(db):
    AarrrDaily.objects.bulk_create([
        AarrrDaily(date=DAY, channel="wechat", acquisition=5, activation=3, retention=1, revenue=Decimal("88.50"),
                   paying_customers=2, referral=1),
        AarrrDaily(date=DAY, channel="douyin", acquisition=9, activation=2),
        AarrrDaily(date=DAY + timedelta(days=1), channel="wechat", acquisition=4),
        AarrrDaily(date=DAY + timedelta(days=5), channel="wechat", acquisition=1),
    ])


def test_rows_of_the_range_in_date_then_channel_order(api_client_for, stored, django_assert_num_queries):
    client = api_client_for(Role.PRODUCT_OPS)

    with django_assert_num_queries(3):  # the role check, count, page
        response = client.get(URL, {"date_from": "2026-03-10", "date_to": "2026-03-11"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["next"] is None
    assert body["results"] == [
        {"date": "2026-03-10", "channel": "douyin", "acquisition": 9, "activation": 2, "retention": 0,
         "revenue": 0.0, "paying_customers": 0, "referral": 0},
        {"date": "2026-03-10", "channel": "wechat", "acquisition": 5, "activation": 3, "retention": 1,
         "revenue": 88.5, "paying_customers": 2, "referral": 1},
        {"date": "2026-03-11", "channel": "wechat", "acquisition": 4, "activation": 0, "retention": 0,
         "revenue": 0.0, "paying_customers": 0, "referral": 0},
    ]


def test_one_channel(api_client_for, stored):
    response = api_client_for(Role.ANALYST).get(URL, {"date_from": "2026-03-01", "date_to": "2026-03-31",
                                                      "channel": "wechat"})

    assert [row["date"] for row in response.json()["results"]] == ["2026-03-10", "2026-03-11", "2026-03-15"]


def test_long_answers_are_paginated(api_client_for, stored):
    client = api_client_for(Role.USER_OPS)

    first = client.get(URL, {"date_from": "2026-03-01", "date_to": "2026-03-31", "page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 4
    assert len(first["results"]) == 2
    assert [row["date"] for row in second["results"]] == ["2026-03-11", "2026-03-15"]
    assert second["next"] is None


def test_default_range_is_the_last_30_days(api_client_for, db):
    yesterday = timezone.localdate() - timedelta(days=1)
    AarrrDaily.objects.create(date=yesterday, channel="wechat", acquisition=1)
    AarrrDaily.objects.create(date=yesterday - timedelta(days=30), channel="wechat", acquisition=1)

    response = api_client_for(Role.PM).get(URL)

    assert [row["date"] for row in response.json()["results"]] == [yesterday.isoformat()]


@pytest.mark.parametrize("params, field", [
    ({"date_from": "2026-13-01"}, "date_from"),
    ({"date_to": "yesterday"}, "date_to"),
    ({"date_from": "2026-03-11", "date_to": "2026-03-10"}, "date_from"),
    ({"date_from": "1990-01-01", "date_to": "2026-03-10"}, "date_to"),
    ({"channel": "x" * 101}, "channel"),
])
def test_bad_parameters_are_a_400_naming_the_field(api_client_for, db, params, field):
    response = api_client_for(Role.ANALYST).get(URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]


def test_needs_a_login(client, db):
    assert client.get(URL).status_code in (401, 403)
