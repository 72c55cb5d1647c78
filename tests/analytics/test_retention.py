"""Hand-written retention scenarios with exact answers (semantics in DESIGN.md), on each engine."""

from __future__ import annotations

from datetime import date, timedelta

from analytics.services.loading import events_load
from analytics.services.retention import retention_average, retention_compute
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
        {"cohort": "2026-03-02", "size": 2, "retained": [1, 1, 0, 1], "complete": 4},
        {"cohort": "2026-03-09", "size": 1, "retained": [0, 0, 0, 0], "complete": 4},
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
        {"cohort": "2026-03-02", "size": 1, "retained": [1, 0, 1], "complete": 3},
        {"cohort": "2026-03-04", "size": 1, "retained": [1, 0, 0], "complete": 3},
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
        {"cohort": "2026-01-01", "size": 1, "retained": [0, 1, 1], "complete": 3},
        {"cohort": "2026-02-01", "size": 1, "retained": [0, 0, 0], "complete": 3},
    ]}


def test_nothing_stored_gives_no_cohorts(engine):
    result = retention_compute(cohort_event="signup", return_event="order_paid", period="day", date_from=MONDAY,
                               date_to=MONDAY, engine=engine)

    assert result == {"period": "day", "cohorts": []}


def test_default_is_eight_periods(engine):
    events_load([event_row("signup", "a", local_time(MONDAY, 10))])

    result = retention_compute(cohort_event="signup", return_event="signup", period="day", date_from=MONDAY,
                               date_to=MONDAY, engine=engine)

    assert result["cohorts"] == [{"cohort": "2026-03-02", "size": 1, "retained": [1, 0, 0, 0, 0, 0, 0, 0],
                                  "complete": 8}]


# Young cohorts and the period in progress. The clock is pinned at Wednesday 2026-11-25 10:00 (tests/conftest.py).

THIS_MONDAY = date(2026, 11, 23)


def test_periods_not_started_are_none_and_complete_counts_the_ended_ones(engine):
    events_load([
        # cohort 9 Nov: weeks 0 and 1 complete, week 2 (this week) in progress, weeks 3… not started
        event_row("signup", "a", local_time(THIS_MONDAY - timedelta(days=14), 10)),
        event_row("order_paid", "a", local_time(THIS_MONDAY - timedelta(days=7), 10)),
        event_row("order_paid", "a", local_time(THIS_MONDAY + timedelta(days=1), 10)),
        event_row("signup", "b", local_time(THIS_MONDAY - timedelta(days=13), 10)),
        # cohort 16 Nov: week 0 complete, week 1 in progress (an order this morning counts so far)
        event_row("signup", "c", local_time(THIS_MONDAY - timedelta(days=7), 10)),
        event_row("order_paid", "c", local_time(THIS_MONDAY + timedelta(days=2), 9)),
        # cohort 23 Nov (this week): week 0 in progress, nothing complete
        event_row("signup", "d", local_time(THIS_MONDAY, 10)),
        event_row("order_paid", "d", local_time(THIS_MONDAY, 11)),
    ])

    result = retention_compute(cohort_event="signup", return_event="order_paid", period="week",
                               date_from=THIS_MONDAY - timedelta(days=14), date_to=THIS_MONDAY + timedelta(days=2),
                               periods=4, engine=engine)

    assert result == {"period": "week", "cohorts": [
        {"cohort": "2026-11-09", "size": 2, "retained": [0, 1, 1, None], "complete": 2},
        {"cohort": "2026-11-16", "size": 1, "retained": [0, 1, None, None], "complete": 1},
        {"cohort": "2026-11-23", "size": 1, "retained": [1, None, None, None], "complete": 0},
    ]}
    # week 0 over the cohorts of 9 and 16 Nov (0 of 3); week 1 over 9 Nov only (1 of 2); weeks 2, 3: none complete
    assert [cell["share"] for cell in retention_average(result)] == [0.0, 0.5, None, None]
    assert [(cell["customers"], cell["cohorts"]) for cell in retention_average(result)] == [(3, 2), (2, 1), (0, 0),
                                                                                            (0, 0)]


def test_today_is_a_day_in_progress_and_tomorrow_has_not_started(engine):
    today = date(2026, 11, 25)
    events_load([event_row("signup", "a", local_time(today - timedelta(days=1), 10)),
                 event_row("order_paid", "a", local_time(today, 9))])

    result = retention_compute(cohort_event="signup", return_event="order_paid", period="day",
                               date_from=today - timedelta(days=1), date_to=today, periods=3, engine=engine)

    assert result["cohorts"] == [{"cohort": "2026-11-24", "size": 1, "retained": [0, 1, None], "complete": 1}]


def test_the_month_in_progress(engine):
    events_load([event_row("signup", "a", local_time(date(2026, 10, 31), 23)),
                 event_row("order_paid", "a", local_time(date(2026, 11, 2), 9))])

    result = retention_compute(cohort_event="signup", return_event="order_paid", period="month",
                               date_from=date(2026, 10, 1), date_to=date(2026, 10, 31), periods=3, engine=engine)

    assert result["cohorts"] == [{"cohort": "2026-10-01", "size": 1, "retained": [0, 1, None], "complete": 1}]
