"""Hand-written retention scenarios with exact answers (semantics in DESIGN.md), on each engine."""

from __future__ import annotations

from datetime import date, timedelta

from analytics.services.loading import events_load
from analytics.services.retention import retention_compute
from tests.factories import event_row, local_time

MONDAY = date(2026, 3, 2)


def test_weekly_cohorts_by_first_ever_cohort_event(engine):
    events_load([
        # cohort week of 2 March; back in week +1 (Monday 00:00) and week +3
        event_row("signup", "a", local_time(MONDAY, 10)),
        event_row("order_paid", "a", local_time(MONDAY + timedelta(days=7), 0, 0)),
        event_row("order_paid", "a", local_time(MONDAY + timedelta(days=21), 12)),
        # cohort week of 2 March (Sunday 23:59); an order the same minute counts for k = 0
        event_row("signup", "b", local_time(MONDAY + timedelta(days=6), 23, 59)),
        event_row("order_paid", "b", local_time(MONDAY + timedelta(days=6), 23, 59)),
        # cohort week of 9 March; an order before the signup in the same week does not count for k = 0
        event_row("order_paid", "c", local_time(MONDAY + timedelta(days=7), 9)),
        event_row("signup", "c", local_time(MONDAY + timedelta(days=7), 10)),
        # first-ever signup before the range: not in any cohort, even with a signup inside it
        event_row("signup", "d", local_time(MONDAY - timedelta(days=1), 10)),
        event_row("signup", "d", local_time(MONDAY, 10)),
        event_row("order_paid", "d", local_time(MONDAY, 11)),
    ])

    result = retention_compute(cohort_event="signup", return_event="order_paid", period="week",
                               date_from=MONDAY, date_to=MONDAY + timedelta(days=13), periods=4, engine=engine)

    assert result == {"period": "week", "cohorts": [
        {"cohort": "2026-03-02", "size": 2, "retained": [1, 1, 0, 1]},
        {"cohort": "2026-03-09", "size": 1, "retained": [0, 0, 0, 0]},
    ]}


def test_same_event_retains_everyone_at_k0_and_empty_cohorts_are_left_out(engine):
    events_load([
        event_row("visit", "a", local_time(MONDAY, 10)),
        event_row("visit", "a", local_time(MONDAY + timedelta(days=2), 10)),
        event_row("visit", "b", local_time(MONDAY + timedelta(days=2), 23, 59)),
    ])

    result = retention_compute(cohort_event="visit", return_event="visit", period="day", date_from=MONDAY,
                               date_to=MONDAY + timedelta(days=6), periods=3, engine=engine)

    assert result == {"period": "day", "cohorts": [
        {"cohort": "2026-03-02", "size": 1, "retained": [1, 0, 1]},
        {"cohort": "2026-03-04", "size": 1, "retained": [1, 0, 0]},
    ]}


def test_monthly_cohorts_are_named_by_the_first_of_the_month(engine):
    events_load([
        event_row("signup", "a", local_time(date(2026, 1, 31), 23, 59)),
        event_row("order_paid", "a", local_time(date(2026, 2, 1), 0, 0)),
        event_row("order_paid", "a", local_time(date(2026, 3, 31), 23, 0)),
        event_row("signup", "b", local_time(date(2026, 2, 1), 0, 0)),
    ])

    result = retention_compute(cohort_event="signup", return_event="order_paid", period="month",
                               date_from=date(2026, 1, 1), date_to=date(2026, 2, 28), periods=3, engine=engine)

    assert result == {"period": "month", "cohorts": [
        {"cohort": "2026-01-01", "size": 1, "retained": [0, 1, 1]},
        {"cohort": "2026-02-01", "size": 1, "retained": [0, 0, 0]},
    ]}


def test_nothing_stored_gives_no_cohorts(engine):
    result = retention_compute(cohort_event="signup", return_event="order_paid", period="day", date_from=MONDAY,
                               date_to=MONDAY, engine=engine)

    assert result == {"period": "day", "cohorts": []}


def test_default_is_eight_periods(engine):
    events_load([event_row("signup", "a", local_time(MONDAY, 10))])

    result = retention_compute(cohort_event="signup", return_event="signup", period="day", date_from=MONDAY,
                               date_to=MONDAY, engine=engine)

    assert result["cohorts"] == [{"cohort": "2026-03-02", "size": 1, "retained": [1, 0, 0, 0, 0, 0, 0, 0]}]
