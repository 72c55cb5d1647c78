"""Builders for the insights tests: events a funnel can read, a team with a lead and members."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from analytics.services.loading import events_load
from analytics.services.metrics import metrics_run_execute
from tests.factories import event_row, local_time


@pytest.fixture
def funnel_events(db):
    """30 customers over 16–24 November: all visit, two thirds sign up, a third order; AARRR rows computed."""
    rows = []
    for n in range(30):
        day = date(2026, 11, 16) + timedelta(days=n % 9)
        who = f"c{n}"
        rows.append(event_row("visit", who, local_time(day, 9), channel=["wechat", "douyin", "organic"][n % 3]))
        if n % 3:
            rows.append(event_row("signup", who, local_time(day, 10)))
        if n % 3 == 1:
            rows.append(event_row("order_paid", who, local_time(day, 11), amount=25, order_id=f"o{n}",
                                  merchant_id="m1"))
    events_load(rows)
    metrics_run_execute(date_from=date(2026, 11, 1), date_to=date(2026, 11, 24))
    return rows
