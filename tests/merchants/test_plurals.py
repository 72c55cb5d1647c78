"""Sentences made with a count say it with the right noun (ngettext): "1 order", "2 orders", never "1 orders" — the
timeline of /merchants/239/ read "first tier: health 32, 1 orders in the week of 2026-09-07"."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages

from merchants.services.diagnosis import merchant_diagnose
from merchants.tier_reasons import FIRST, MOVED, orders_count_text, tier_reason_text
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory, local_time

WEEK = date(2026, 9, 7)


@pytest.mark.parametrize(("orders", "text"), [(0, "0 orders"), (1, "1 order"), (2, "2 orders"), (30, "30 orders")])
def test_an_order_count_has_its_plural(orders, text):
    assert orders_count_text(orders) == text


@pytest.mark.parametrize(("code", "orders", "weeks", "text"), [
    (FIRST, 1, 1, "first tier: health 32, 1 order in the week of 2026-09-07 (rules v1)"),
    (FIRST, 30, 1, "first tier: health 32, 30 orders in the week of 2026-09-07 (rules v1)"),
    (MOVED, 1, 1, "health 32, 1 order in the week of 2026-09-07, beyond the buffer band (rules v1)"),
    (MOVED, 1, 2, "health 32, 1 order in the week of 2026-09-07, beyond the buffer band for 2 complete weeks in a "
                  "row (rules v1)"),
    (MOVED, 0, 3, "health 32, 0 orders in the week of 2026-09-07, beyond the buffer band for 3 complete weeks in a "
                  "row (rules v1)"),
])
def test_a_tier_reason_counts_orders_and_weeks_each_with_its_own_plural(code, orders, weeks, text):
    params = {"score": 32, "orders": orders, "week": WEEK.isoformat(), "weeks": weeks, "version": 1}

    assert tier_reason_text(code, params) == text


def _week(start: date, orders: int, orders_wow: float | None) -> SimpleNamespace:
    return SimpleNamespace(period_start=start, days=7, orders=orders, orders_wow=orders_wow, avg_rating=None,
                           review_count=0, low_rating_share=0.0, customers=orders, repeat_rate=0.0, health_score=30)


def test_the_orders_down_evidence_says_one_order():
    series = [_week(WEEK - timedelta(days=7), 4, None), _week(WEEK, 1, -0.75)]

    problems = merchant_diagnose(series=series, last_contact_at=local_time(WEEK), now=local_time(WEEK, 12))

    assert [(p.code, p.evidence) for p in problems] == [
        ("orders_down", "1 order in the week of 2026-09-07 against 4 the week before (-75%).")]


@pytest.mark.django_db
def test_the_merchant_list_counts_one_merchant_in_the_singular(client, make_staff):
    MerchantFactory()
    client.force_login(make_staff(Role.ADMIN))

    page = client.get("/merchants/").content.decode()

    assert "· 1 merchant</span>" in page


@pytest.mark.django_db
def test_a_tier_change_of_one_merchant_is_said_in_the_singular(client, make_staff):
    merchant = MerchantFactory(tier="potential")
    client.force_login(make_staff(Role.ADMIN))

    response = client.post("/merchants/tiers/bulk/", {"merchants": [merchant.pk], "action": "promote",
                                                      "reason": "Promoted at review"})

    assert [str(message) for message in get_messages(response.wsgi_request)] == ["1 merchant changed."]
