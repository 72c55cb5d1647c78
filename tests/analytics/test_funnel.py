"""Hand-written funnel scenarios with exact answers (semantics in DESIGN.md), on each engine."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from django.utils import timezone

from analytics.services.columns import columns_build
from analytics.services.funnel import funnel_compute
from analytics.services.loading import events_load
from tests.analytics.conftest import FUNNEL_ENGINES
from tests.factories import event_row, local_time

D1 = date(2026, 3, 2)
D2 = date(2026, 3, 8)


@pytest.fixture(params=FUNNEL_ENGINES)
def engine(request, db):
    return request.param


def compute(*, engine: str, **query) -> dict:
    """The funnel on ``engine``; "columns (built)" builds the event columns of every stored day first."""
    if engine == "columns (built)":
        columns_build()  # every stored day up to the day before yesterday: all of this module's
        engine = "columns"
    return funnel_compute(engine=engine, **query)


def counts(result) -> list[int]:
    return [step["count"] for step in result["steps"]]


def test_window_edge_exactly_w_days_is_included(engine):
    entry = local_time(D1, 10)
    events_load([
        event_row("visit", "on_edge", entry),
        event_row("order_paid", "on_edge", entry + timedelta(days=2)),
        event_row("visit", "past_edge", entry),
        event_row("order_paid", "past_edge", entry + timedelta(days=2, microseconds=1)),
    ])

    result = compute(steps=["visit", "order_paid"], window_days=2, date_from=D1, date_to=D2, engine=engine)

    assert result["steps"] == [
        {"event": "visit", "count": 2, "conversion_from_previous": 1.0, "conversion_from_first": 1.0,
         "median_seconds_to_convert": None, "avg_seconds_to_convert": None},
        {"event": "order_paid", "count": 1, "conversion_from_previous": 0.5, "conversion_from_first": 0.5,
         "median_seconds_to_convert": 172800.0, "avg_seconds_to_convert": 172800.0},
    ]


def test_a_step_after_the_range_inside_the_window_counts(engine):
    events_load([
        event_row("visit", "late", local_time(D2, 23, 59)),
        event_row("signup", "late", local_time(D2 + timedelta(days=1), 0, 30)),
    ])

    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2, engine=engine)

    assert counts(result) == [1, 1]
    assert result["steps"][1]["median_seconds_to_convert"] == 31 * 60.0


def test_entry_before_the_range_is_ignored(engine):
    events_load([
        # Only before D1: not in the funnel at all.
        event_row("visit", "early", local_time(D1 - timedelta(days=1), 23, 59)),
        event_row("signup", "early", local_time(D1, 9)),
        # Before D1 and again inside: enters at the first visit inside the range, so the signup between the
        # two visits does not count.
        event_row("visit", "twice", local_time(D1 - timedelta(days=1), 12)),
        event_row("signup", "twice", local_time(D1, 8)),
        event_row("visit", "twice", local_time(D1, 9)),
    ])

    result = compute(steps=["visit", "signup"], window_days=7, date_from=D1, date_to=D2, engine=engine)

    assert counts(result) == [1, 0]


def test_range_ends_at_local_midnight_after_date_to(engine):
    events_load([
        event_row("visit", "last_minute", local_time(D2, 23, 59)),
        event_row("visit", "next_day", local_time(D2 + timedelta(days=1), 0, 0)),
        event_row("visit", "first_minute", local_time(D1, 0, 0)),
    ])

    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2, engine=engine)

    assert counts(result) == [2, 0]


def test_a_tied_event_is_not_strictly_later(engine):
    at = local_time(D1, 12)
    events_load([
        event_row("visit", "tie", at),
        event_row("signup", "tie", at),
        event_row("visit", "after", at),
        event_row("signup", "after", at + timedelta(microseconds=1)),
    ])

    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2, engine=engine)

    assert counts(result) == [2, 1]
    assert result["steps"][1]["median_seconds_to_convert"] == 0.0


def test_a_repeated_step_needs_its_own_event(engine):
    events_load([
        event_row("order_paid", "once", local_time(D1, 12)),
        event_row("order_paid", "twice", local_time(D1, 12)),
        event_row("order_paid", "twice", local_time(D1, 18)),
        event_row("order_paid", "tied", local_time(D1, 12)),
        event_row("order_paid", "tied", local_time(D1, 12)),
    ])

    result = compute(steps=["order_paid", "order_paid"], window_days=7, date_from=D1, date_to=D2,
                            engine=engine)

    assert counts(result) == [3, 1]


def test_each_step_is_the_earliest_after_the_previous_match(engine):
    events_load([
        event_row("visit", "c", local_time(D1, 9)),
        event_row("signup", "c", local_time(D1, 10)),
        event_row("order_paid", "c", local_time(D1, 9, 30)),  # before the signup: does not count
        event_row("order_paid", "c", local_time(D1, 11)),
        event_row("order_paid", "c", local_time(D1, 12)),
    ])

    result = compute(steps=["visit", "signup", "order_paid"], window_days=1, date_from=D1, date_to=D2,
                            engine=engine)

    assert counts(result) == [1, 1, 1]
    assert result["steps"][2]["median_seconds_to_convert"] == 3600.0


def test_a_customer_who_skips_a_step_stops_there(engine):
    events_load([
        event_row("visit", "skipper", local_time(D1, 9)),
        event_row("order_paid", "skipper", local_time(D1, 10)),
    ])

    result = compute(steps=["visit", "signup", "order_paid"], window_days=1, date_from=D1, date_to=D2,
                            engine=engine)

    assert counts(result) == [1, 0, 0]
    assert [step["conversion_from_previous"] for step in result["steps"]] == [1.0, 0.0, 0.0]
    assert result["steps"][2]["median_seconds_to_convert"] is None


def test_times_to_convert_are_median_and_mean_from_the_previous_step(engine):
    rows = []
    for name, minutes in [("a", 10), ("b", 20), ("c", 60), ("d", 90)]:
        rows += [event_row("visit", name, local_time(D1, 9)),
                 event_row("signup", name, local_time(D1, 9) + timedelta(minutes=minutes))]
    events_load(rows)

    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2, engine=engine)

    assert result["steps"][1]["median_seconds_to_convert"] == 40 * 60.0
    assert result["steps"][1]["avg_seconds_to_convert"] == 45 * 60.0


def test_nobody_entering_gives_zeros(engine):
    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2,
                            breakdown="channel", engine=engine)

    assert result["steps"] == [
        {"event": "visit", "count": 0, "conversion_from_previous": 0.0, "conversion_from_first": 0.0,
         "median_seconds_to_convert": None, "avg_seconds_to_convert": None},
        {"event": "signup", "count": 0, "conversion_from_previous": 0.0, "conversion_from_first": 0.0,
         "median_seconds_to_convert": None, "avg_seconds_to_convert": None},
    ]
    assert result["breakdown"] == []
    assert result["window"]["entrants_open"] == 0


def test_breakdown_uses_the_entry_events_channel_and_none_when_missing(engine):
    events_load([
        event_row("visit", "w1", local_time(D1, 9), channel="wechat"),
        event_row("visit", "w1", local_time(D1, 10), channel="douyin"),  # a later visit: not the entry
        event_row("signup", "w1", local_time(D1, 11)),
        event_row("visit", "w2", local_time(D1, 9), channel="wechat"),
        event_row("visit", "n1", local_time(D1, 9)),
        event_row("signup", "n1", local_time(D1, 9, 5)),
        event_row("visit", "n2", local_time(D1, 9), channel=""),
        event_row("visit", "n3", local_time(D1, 9)),
        event_row("visit", "d1", local_time(D1, 9), channel="douyin"),
    ])

    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2, breakdown="channel",
                            engine=engine)

    assert counts(result) == [6, 2]
    assert [(row["value"], counts(row)) for row in result["breakdown"]] == [
        ("(none)", [3, 1]), ("wechat", [2, 1]), ("douyin", [1, 0])]
    assert result["breakdown"][0]["steps"][1]["conversion_from_previous"] == 1 / 3


def test_without_breakdown_the_key_is_absent(engine):
    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2, engine=engine)

    assert set(result) == {"steps", "window"}


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Shanghai"])
def test_day_boundaries_follow_time_zone(engine, settings, tz):
    settings.TIME_ZONE = tz
    events_load([event_row("visit", "c", local_time(D1, 0, 0)),
                 event_row("visit", "d", local_time(D1, 0, 0) - timedelta(microseconds=1))])

    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D1, engine=engine)

    assert timezone.get_current_timezone_name() == tz
    assert counts(result) == [1, 0]


def test_the_window_is_w_times_24_hours_across_the_start_of_daylight_saving(engine, settings):
    """New York springs forward on 8 March 2026: a day's window from 7 March 23:30 EST ends 8 March 23:30 EST,
    which is 9 March 00:30 EDT; a step at 00:15 EDT is inside it."""
    settings.TIME_ZONE = "America/New_York"
    late = local_time(date(2026, 3, 7), 23, 30).astimezone(UTC)  # in UTC, so that + timedelta is elapsed time
    early = local_time(date(2026, 3, 7), 12).astimezone(UTC)
    events_load([
        event_row("visit", "late", late), event_row("signup", "late", late + timedelta(hours=23, minutes=45)),
        event_row("visit", "early", early), event_row("signup", "early", early + timedelta(hours=23, minutes=30)),
        event_row("visit", "past", early), event_row("signup", "past", early + timedelta(hours=24, microseconds=1)),
    ])

    result = compute(steps=["visit", "signup"], window_days=1, date_from=date(2026, 3, 7), date_to=date(2026, 3, 7),
                     engine=engine)

    assert counts(result) == [3, 2]


def test_simultaneous_entry_events_take_the_channel_of_the_first_stored(engine):
    at = local_time(D1, 9)
    events_load([event_row("visit", "c", at, channel="wechat")])
    events_load([event_row("visit", "c", at, channel="douyin")])

    result = compute(steps=["visit", "signup"], window_days=1, date_from=D1, date_to=D2, breakdown="channel",
                            engine=engine)

    assert [(row["value"], counts(row)) for row in result["breakdown"]] == [("wechat", [1, 0])]


# A funnel read before its entrants' windows have closed: their later steps can still come (DESIGN.md: a cohort is
# mature for an N-day measure once N days have passed).


def test_entrants_whose_window_is_still_open_are_counted_and_can_be_left_out(engine):
    now = local_time(D2, 12)  # window 2 days: entries after D2−2 12:00 (local) are still open
    events_load([
        event_row("visit", "old", local_time(D1, 9), channel="wechat"),
        event_row("order_paid", "old", local_time(D1, 10)),
        event_row("visit", "edge", now - timedelta(days=2), channel="wechat"),  # entry + 2 d == now: closed
        event_row("visit", "young", now - timedelta(days=2) + timedelta(microseconds=1), channel="douyin"),
        event_row("visit", "young2", local_time(D2, 11), channel="douyin"),
        event_row("order_paid", "young2", local_time(D2, 11, 30)),
    ])
    query = {"steps": ["visit", "order_paid"], "window_days": 2, "date_from": D1, "date_to": D2,
             "breakdown": "channel", "now": now}

    every = compute(engine=engine, **query)
    closed = compute(engine=engine, closed_only=True, **query)

    assert counts(every) == [4, 2]
    assert every["window"] == {"days": 2, "as_of": now.astimezone(UTC).isoformat(),
                               "closed_before": (now - timedelta(days=2)).astimezone(UTC).isoformat(),
                               "closed_only": False, "entrants_open": 2, "complete": False}
    assert [(row["value"], counts(row), row["entrants_window_open"]) for row in every["breakdown"]] == [
        ("douyin", [2, 1], 2), ("wechat", [2, 1], 0)]
    assert counts(closed) == [2, 1]
    assert closed["window"]["entrants_open"] == 0 and closed["window"]["closed_only"] is True
    assert [(row["value"], counts(row)) for row in closed["breakdown"]] == [("wechat", [2, 1])]


def test_a_funnel_is_complete_once_the_last_possible_entry_has_had_its_window(engine):
    end = timezone.make_aware(timezone.datetime.combine(D2 + timedelta(days=1), timezone.datetime.min.time()))
    query = {"steps": ["visit", "order_paid"], "window_days": 2, "date_from": D1, "date_to": D2}

    assert not compute(engine=engine, now=end + timedelta(days=2) - timedelta(microseconds=2), **query)["window"][
        "complete"]
    assert compute(engine=engine, now=end + timedelta(days=2) - timedelta(microseconds=1), **query)["window"][
        "complete"]
    # Read before any entrant's window has closed, closed_only counts nobody (and says it is not final).
    early = compute(engine=engine, now=local_time(D1, 12), closed_only=True, **query)
    assert counts(early) == [0, 0] and early["window"]["complete"] is False
