"""The merchant page's analytics on crafted events: its daily order trend, the funnel of its customers (every step
at this merchant) and the weekly retention of its buyers. Runs on the engine of the database under test (SQL on
PostgreSQL, pandas on SQLite): both must give these answers."""

from datetime import date, timedelta

import pytest

from analytics.selectors import funnel_compute
from analytics.services.loading import events_load
from merchants.models import Merchant
from merchants.overview import merchant_analytics
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory, event_row, local_time

pytestmark = pytest.mark.django_db
LAST = date(2026, 3, 29)  # a Sunday: the last day with events, so the page's 28 days are 2026-03-02 … 03-29
MONDAY = date(2026, 3, 2)


def _order(who, day, hour, merchant, amount=10.0, minute=0):
    return event_row("order_paid", who, local_time(day, hour, minute), merchant_id=merchant, amount=amount,
                     order_id=f"{who}-{day}-{hour}-{minute}")


def test_trend_counts_this_merchants_orders_per_local_day_and_reads_numeric_codes():
    events_load([
        _order("a", LAST, 23, "M1", 12.5, minute=30),  # 23:30 local on the last day
        _order("a", LAST - timedelta(days=1), 0, "M1", 7.5, minute=30),  # 00:30 local the day before
        _order("b", LAST, 10, "M2", 99),  # another merchant
        event_row("order_paid", "c", local_time(LAST, 11), merchant_id=123, amount=3, order_id="n1"),
        _order("d", LAST - timedelta(days=28), 12, "M1"),  # the day before the 28 days shown
    ])

    m1 = merchant_analytics(merchant=Merchant(code="M1"))
    numeric = merchant_analytics(merchant=Merchant(code="123"))

    assert (m1["date_from"], m1["date_to"]) == (LAST - timedelta(days=27), LAST)
    assert len(m1["trend"]["days"]) == 28
    assert m1["trend"]["orders"][-2:] == [1, 1]
    assert sum(m1["trend"]["orders"]) == 2
    assert m1["trend"]["gmv"][-2:] == [7.5, 12.5]
    assert (numeric["trend"]["orders"][-1], numeric["trend"]["gmv"][-1]) == (1, 3.0)


def test_funnel_counts_only_steps_taken_at_this_merchant():
    day = LAST - timedelta(days=10)
    events_load([
        # a: viewed M1, put M1's goods in the cart, paid M1 — the whole funnel
        event_row("view_merchant", "a", local_time(day, 9), merchant_id="M1"),
        event_row("add_to_cart", "a", local_time(day, 10), merchant_id="M1"),
        _order("a", day, 11, "M1"),
        # b: viewed M1, then bought at M2 — entered M1's funnel, went no further there
        event_row("view_merchant", "b", local_time(day, 9), merchant_id="M1"),
        event_row("add_to_cart", "b", local_time(day, 10), merchant_id="M2"),
        _order("b", day, 11, "M2"),
        # c: viewed M2 only, bought at M1 — not in M1's funnel
        event_row("view_merchant", "c", local_time(day, 9), merchant_id="M2"),
        event_row("add_to_cart", "c", local_time(day, 10), merchant_id="M1"),
        _order("c", day, 11, "M1"),
        # d: viewed and carted at M1 but paid eight days later, outside the 7-day window
        event_row("view_merchant", "d", local_time(day, 9), merchant_id="M1"),
        event_row("add_to_cart", "d", local_time(day, 10), merchant_id="M1"),
        _order("d", day + timedelta(days=8), 8, "M1"),
        event_row("visit", "z", local_time(LAST, 12), channel="organic"),
    ])

    funnel = merchant_analytics(merchant=Merchant(code="M1"))["funnel"]
    first_step_only = funnel_compute(steps=["view_merchant", "add_to_cart", "order_paid"], window_days=7,
                                     date_from=LAST - timedelta(days=27), date_to=LAST,
                                     property_filter=("merchant_id", "M1"))

    assert [(s["event"], s["count"]) for s in funnel] == [("view_merchant", 3), ("add_to_cart", 2),
                                                         ("order_paid", 1)]
    assert [s["count"] for s in first_step_only["steps"]] == [3, 3, 2]  # b's M2 cart and order count there


def test_the_funnel_says_how_many_of_its_customers_can_still_convert(today_is):
    # the report's last day is yesterday: entrants of its last 7 days (window 7) are still open
    today_is(date(2026, 3, 30))
    events_load([event_row("view_merchant", "old", local_time(LAST - timedelta(days=20), 9), merchant_id="M1"),
                 event_row("view_merchant", "new", local_time(LAST - timedelta(days=2), 9), merchant_id="M1"),
                 event_row("view_merchant", "newer", local_time(LAST, 9), merchant_id="M1")])

    analytics = merchant_analytics(merchant=Merchant(code="M1"))

    assert [s["count"] for s in analytics["funnel"]][0] == 3
    assert analytics["funnel_window"]["entrants_open"] == 2 and analytics["funnel_window"]["days"] == 7


def test_retention_cohorts_are_first_orders_at_this_merchant():
    events_load([
        _order("a", MONDAY + timedelta(days=7), 9, "M1"),  # a: first M1 order in week 2, back in week 3
        _order("a", MONDAY + timedelta(days=14), 9, "M1"),
        _order("b", MONDAY - timedelta(days=30), 9, "M1"),  # b: an M1 customer from before the six weeks
        _order("b", MONDAY + timedelta(days=7), 9, "M1"),
        _order("c", MONDAY, 9, "M2"),  # c: an M2 customer who first ordered at M1 in week 3
        _order("c", MONDAY + timedelta(days=14), 9, "M1"),
        _order("c", MONDAY + timedelta(days=21), 9, "M2"),  # … and went back to M2, not M1
        _order("z", LAST, 9, "M9"),
    ])

    retention = merchant_analytics(merchant=Merchant(code="M1"))["retention"]

    assert retention == [
        {"cohort": "2026-03-09", "size": 1, "retained": [1, 1, 0, 0, 0, 0], "complete": 6},
        {"cohort": "2026-03-16", "size": 1, "retained": [1, 0, 0, 0, 0, 0], "complete": 6},
    ]


def test_the_merchant_page_shows_its_analytics(client_for):
    merchant = MerchantFactory(code="M1")
    events_load([
        event_row("view_merchant", "a", local_time(LAST, 9), merchant_id="M1"),
        event_row("add_to_cart", "a", local_time(LAST, 10), merchant_id="M1"),
        _order("a", LAST, 11, "M1"),
    ])

    response = client_for(Role.ANALYST).get(f"/merchants/{merchant.pk}/")

    assert response.status_code == 200
    assert response.context["chart"]["orders"][-1] == 1
    assert [s["count"] for s in response.context["analytics"]["funnel"]] == [1, 1, 1]
    assert response.context["analytics"]["retention"] == [{"cohort": "2026-03-23", "size": 1,
                                                           "retained": [1, 0, 0, 0, 0, 0], "complete": 6}]
