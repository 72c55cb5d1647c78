"""The optional ``property_filter`` of funnels and retention (a merchant's customers), on both engines."""

from datetime import date, timedelta

import pytest
from django.db import connection

from analytics.selectors import funnel_compute, retention_compute
from analytics.services.loading import events_load
from tests.factories import event_row, local_time

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 9)  # a Monday


def _engines():
    return ["pandas", "sql"] if connection.vendor == "postgresql" else ["pandas"]


def _funnel_events():
    events_load([
        event_row("view_merchant", "a", local_time(DAY, 9), merchant_id="M1"),
        event_row("view_merchant", "b", local_time(DAY, 9), merchant_id="M1"),
        event_row("view_merchant", "c", local_time(DAY, 9), merchant_id="M2"),
        event_row("view_merchant", "d", local_time(DAY, 9), merchant_id="M2"),
        event_row("view_merchant", "d", local_time(DAY, 11), merchant_id="M1"),
        event_row("order_paid", "a", local_time(DAY, 10), merchant_id="M1", amount=5),
        event_row("order_paid", "c", local_time(DAY, 10), merchant_id="M2", amount=5),
        event_row("order_paid", "d", local_time(DAY, 10), merchant_id="M2", amount=5),
    ])


def test_funnel_entry_events_filtered_by_a_property():
    _funnel_events()
    for engine in _engines():
        kwargs = {"steps": ["view_merchant", "order_paid"], "window_days": 1, "date_from": DAY, "date_to": DAY,
                  "engine": engine}

        everyone = funnel_compute(**kwargs)
        m1 = funnel_compute(**kwargs, property_filter=("merchant_id", "M1"))

        assert [s["count"] for s in everyone["steps"]] == [4, 3], engine
        # d enters at its 11:00 M1 view, so its 10:00 order comes before and does not count
        assert [s["count"] for s in m1["steps"]] == [3, 1], engine


def test_retention_of_one_merchants_customers():
    events_load([
        event_row("order_paid", "a", local_time(DAY, 9), merchant_id="M1", amount=5),
        event_row("order_paid", "a", local_time(DAY + timedelta(days=7), 9), merchant_id="M1", amount=5),
        event_row("order_paid", "b", local_time(DAY, 9), merchant_id="M2", amount=5),
        event_row("order_paid", "b", local_time(DAY + timedelta(days=7), 9), merchant_id="M1", amount=5),
        event_row("order_paid", "b", local_time(DAY + timedelta(days=14), 9), merchant_id="M2", amount=5),
    ])
    for engine in _engines():
        kwargs = {"cohort_event": "order_paid", "return_event": "order_paid", "period": "week", "date_from": DAY,
                  "date_to": DAY + timedelta(days=20), "periods": 3, "engine": engine}

        everyone = retention_compute(**kwargs)
        m1 = retention_compute(**kwargs, property_filter=("merchant_id", "M1"))

        assert everyone["cohorts"] == [{"cohort": "2026-03-09", "size": 2, "retained": [2, 2, 1], "complete": 3}], \
            engine
        assert m1["cohorts"] == [{"cohort": "2026-03-09", "size": 1, "retained": [1, 1, 0], "complete": 3},
                                 {"cohort": "2026-03-16", "size": 1, "retained": [1, 0, 0], "complete": 3}], engine


def test_funnel_every_step_filtered_by_the_property():
    events_load([
        event_row("view_merchant", "a", local_time(DAY, 9), merchant_id="M1"),
        event_row("order_paid", "a", local_time(DAY, 10), merchant_id="M2", amount=5),  # at another merchant
        event_row("order_paid", "a", local_time(DAY, 11), merchant_id="M1", amount=5),
        event_row("view_merchant", "b", local_time(DAY, 9), merchant_id="M1"),
        event_row("order_paid", "b", local_time(DAY, 10), merchant_id="M2", amount=5),
        event_row("view_merchant", "c", local_time(DAY, 9), merchant_id="M1"),
        event_row("order_paid", "c", local_time(DAY, 10), merchant_id=1, amount=5),  # a number is not "M1"
    ])
    for engine in _engines():
        kwargs = {"steps": ["view_merchant", "order_paid"], "window_days": 1, "date_from": DAY, "date_to": DAY,
                  "engine": engine, "property_filter": ("merchant_id", "M1")}

        entry_only = funnel_compute(**kwargs)
        every_step = funnel_compute(**kwargs, filter_every_step=True)

        assert [s["count"] for s in entry_only["steps"]] == [3, 3], engine
        assert [s["count"] for s in every_step["steps"]] == [3, 1], engine
        # a's time to convert runs to its M1 order at 11:00, not to the M2 one at 10:00
        assert every_step["steps"][1]["median_seconds_to_convert"] == 7200.0, engine
