"""The engine against the brute-force reference (tests/analytics/reference.py) on random event sets.

Random customers with events from a small alphabet (so step names repeat), on a coarse time grid (so
timestamps tie, land exactly on local midnight, on a window's edge, on week and month boundaries and,
in America/New_York, across the start of daylight saving time on 2026-03-08). Each example is loaded
through ``events_load`` inside a transaction that is rolled back afterwards. Both engines run where they
can: pandas everywhere, SQL on PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import Event
from analytics.services.columns import columns_build, columns_build_day
from analytics.services.funnel import funnel_compute
from analytics.services.golden_time import golden_time_compute
from analytics.services.loading import EventRow, events_load
from analytics.services.periods import on_whole_utc_hours
from analytics.services.retention import retention_average, retention_compute
from ops_platform.core.periods import local_range
from tests.analytics import reference
from tests.analytics.conftest import ENGINES, FUNNEL_ENGINES, POSTGRES

pytestmark = pytest.mark.django_db

BASE = date(2026, 2, 26)  # a Thursday: the grid reaches Sunday 1 March, Monday 2 March and 8 March (DST in New York)
ALPHABET = ["a", "b", "c"]
CHANNELS = ["", "wechat", "douyin"]
ZONES = ["Asia/Shanghai", "America/New_York"]

HYPOTHESIS = settings(max_examples=150, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def local_moments(draw):
    day = draw(st.integers(min_value=-3, max_value=12))
    hour = draw(st.sampled_from([0, 0, 1, 12, 23]))
    minute = draw(st.sampled_from([0, 0, 59]))
    second = draw(st.sampled_from([0, 0, 30]))
    micro = draw(st.sampled_from([0, 0, 0, 250_000]))
    return BASE + timedelta(days=day), time(hour, minute, second, micro)


@st.composite
def event_sets(draw, alphabet=ALPHABET, min_size=0):
    """A list of (customer, event, local day, local time, channel), in storage order."""
    customers = draw(st.integers(min_value=1, max_value=7))
    rows = draw(st.lists(
        st.tuples(st.integers(0, customers - 1), st.sampled_from(alphabet), local_moments(), st.sampled_from(CHANNELS)),
        min_size=min_size, max_size=40,
    ))
    return [(f"p{person}", name, day, moment, channel) for person, name, (day, moment), channel in rows]


def _load(rows, tz: str) -> list[reference.Ev]:
    """Store ``rows`` through ``events_load``; the same events for the reference, with the ids they were stored
    under (the tie-break between simultaneous entry events: lowest id first)."""
    zone = ZoneInfo(tz)
    loaded = [EventRow(uuid=uuid.uuid4(), event=name, distinct_id=person, timestamp=datetime.combine(day, moment, zone),
                       properties={"channel": channel} if channel else {})
              for person, name, day, moment, channel in rows]
    events_load(loaded)
    ids = dict(Event.objects.values_list("uuid", "id"))
    return [reference.Ev(id=ids[row.uuid], person=row.distinct_id, event=row.event, ts=row.timestamp,
                         channel=row.channel) for row in loaded]


class _Rollback(Exception):
    pass


def _in_rolled_back_transaction(check) -> None:
    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("engine", ENGINES)
@HYPOTHESIS
@given(
    rows=event_sets(),
    steps=st.lists(st.sampled_from(ALPHABET), min_size=2, max_size=4),
    window_days=st.integers(min_value=1, max_value=4),
    first_day=st.integers(min_value=-1, max_value=6),
    span=st.integers(min_value=0, max_value=5),
    breakdown=st.booleans(),
    now=local_moments(),
    closed_only=st.booleans(),
)
def test_funnel_matches_the_reference(settings, engine, tz, rows, steps, window_days, first_day, span, breakdown, now,
                                      closed_only):
    """Read at any instant around the data (``now`` on the events' own moments: a window that closes exactly
    then is closed), with every entrant or only those whose window has closed."""
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)
    now = datetime.combine(*now, ZoneInfo(tz))

    def check():
        plain = _load(rows, tz)

        result = funnel_compute(steps=steps, window_days=window_days, date_from=date_from, date_to=date_to,
                                breakdown="channel" if breakdown else None, engine=engine, now=now,
                                closed_only=closed_only)

        assert result == reference.funnel(plain, steps, window_days, date_from, date_to, tz, breakdown=breakdown,
                                          now=now, closed_only=closed_only)

    _in_rolled_back_transaction(check)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("engine", ENGINES)
@HYPOTHESIS
@given(
    rows=event_sets(),
    cohort_event=st.sampled_from(ALPHABET),
    return_event=st.sampled_from(ALPHABET),
    period=st.sampled_from(["day", "week", "month"]),
    first_day=st.integers(min_value=-2, max_value=6),
    span=st.integers(min_value=0, max_value=6),
    periods=st.integers(min_value=1, max_value=10),
)
def test_retention_matches_the_reference(settings, engine, tz, rows, cohort_event, return_event, period, first_day,
                                         span, periods):
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, tz)

        result = retention_compute(cohort_event=cohort_event, return_event=return_event, period=period,
                                   date_from=date_from, date_to=date_to, periods=periods, engine=engine)

        assert result == reference.retention(plain, cohort_event, return_event, period, date_from, date_to, tz,
                                             periods=periods)

    _in_rolled_back_transaction(check)


@pytest.mark.now(datetime(2026, 3, 3, 15, tzinfo=UTC))  # inside the grid of events
@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("engine", ENGINES)
@HYPOTHESIS
@given(
    rows=event_sets(),
    cohort_event=st.sampled_from(ALPHABET),
    return_event=st.sampled_from(ALPHABET),
    period=st.sampled_from(["day", "week", "month"]),
    first_day=st.integers(min_value=-2, max_value=6),
    span=st.integers(min_value=0, max_value=6),
    periods=st.integers(min_value=1, max_value=10),
)
def test_retention_with_young_cohorts_matches_the_reference(settings, engine, tz, rows, cohort_event, return_event,
                                                             period, first_day, span, periods):
    """Now is in the middle of the events: cohorts younger than their periods, the day, week and month in progress,
    periods not started (None), and the average row over complete periods only."""
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, tz)

        result = retention_compute(cohort_event=cohort_event, return_event=return_event, period=period,
                                   date_from=date_from, date_to=date_to, periods=periods, engine=engine)

        expected = reference.retention(plain, cohort_event, return_event, period, date_from, date_to, tz,
                                       periods=periods)
        assert result == expected
        assert [cell["share"] for cell in retention_average(result)] == reference.retention_average(expected)

    _in_rolled_back_transaction(check)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=event_sets(), event=st.sampled_from(ALPHABET), first_day=st.integers(-2, 6), span=st.integers(0, 8))
def test_golden_time_matches_the_reference(settings, engine, tz, rows, event, first_day, span):
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, tz)

        result = golden_time_compute(event=event, date_from=date_from, date_to=date_to, engine=engine)

        expected = reference.golden_time(plain, event, date_from, date_to, tz)
        assert result["matrix"] == expected
        assert result["total"] == sum(map(sum, expected))

    _in_rolled_back_transaction(check)


GOLDEN_ZONES = [*ZONES, "Asia/Kathmandu"]  # +05:45: quarter hours, not whole hours


@pytest.mark.skipif(not POSTGRES, reason="event columns are kept on PostgreSQL only")
@pytest.mark.parametrize("tz", GOLDEN_ZONES)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=event_sets(), later=event_sets(),
       built=st.one_of(st.just("every day"), st.sets(st.integers(min_value=-4, max_value=14))),
       event=st.sampled_from(ALPHABET), first_day=st.integers(-2, 6), span=st.integers(0, 8))
def test_golden_time_by_quarter_hours_matches_the_reference(settings, tz, rows, later, built, event, first_day, span):
    """Counted per UTC quarter hour — from the event columns (some days built, more events written afterwards, on
    built days too) and in the database — then placed in local time: the same grid as the reference, which converts
    every event, across New York's change to daylight saving time and in a zone five hours 45 minutes ahead; and per
    UTC hour from the counts the triggers keep, where the range is whole UTC hours."""
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, tz)
        if built == "every day":
            columns_build(through=BASE + timedelta(days=30))
        else:
            for offset in sorted(built):
                columns_build_day(BASE + timedelta(days=offset))
        plain += _load(later, tz)

        expected = reference.golden_time(plain, event, date_from, date_to, tz)
        whole_hours = on_whole_utc_hours(*local_range(date_from, date_to))  # not in Kathmandu: +05:45
        for engine in ("columns", "sql", "sql (every event)", *(["counts"] if whole_hours else [])):
            result = golden_time_compute(event=event, date_from=date_from, date_to=date_to, engine=engine)
            assert (engine, result["matrix"]) == (engine, expected)

    _in_rolled_back_transaction(check)


FACT_ALPHABET = ["visit", "signup", "order_paid"]  # first-touch facts are kept for these (analytics/services/facts.py)


@pytest.mark.parametrize("engine", FUNNEL_ENGINES)
@HYPOTHESIS
@given(
    rows=event_sets(alphabet=FACT_ALPHABET),
    later=event_sets(alphabet=FACT_ALPHABET),
    cohort_event=st.sampled_from(FACT_ALPHABET),
    return_event=st.sampled_from(FACT_ALPHABET),
    period=st.sampled_from(["day", "week", "month"]),
    first_day=st.integers(min_value=-2, max_value=6),
    span=st.integers(min_value=0, max_value=6),
)
def test_retention_with_first_touch_cohorts_matches_the_reference(settings, engine, rows, later, cohort_event,
                                                                  return_event, period, first_day, span):
    """Cohort events with first-touch facts: the SQL and columns engines read the cohort from the facts kept at
    ingestion; the columns engine reads the return events from the event columns, built or not, and written to
    after their build."""
    settings.TIME_ZONE = "America/New_York"
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, "America/New_York")
        if engine == "columns (built)":  # every day built, then more events written (on built days too)
            columns_build(through=BASE + timedelta(days=30))
        plain += _load(later, "America/New_York")

        result = retention_compute(cohort_event=cohort_event, return_event=return_event, period=period,
                                   date_from=date_from, date_to=date_to, periods=4,
                                   engine="columns" if engine.startswith("columns") else engine)

        assert result == reference.retention(plain, cohort_event, return_event, period, date_from, date_to,
                                             "America/New_York", periods=4)

    _in_rolled_back_transaction(check)


@pytest.mark.skipif(not POSTGRES, reason="event columns are kept on PostgreSQL only")
@pytest.mark.parametrize("tz", ZONES)
@HYPOTHESIS
@given(
    rows=event_sets(min_size=1),
    later=event_sets(min_size=1),
    built=st.one_of(st.just("every day"), st.sets(st.integers(min_value=-4, max_value=14))),
    steps=st.lists(st.sampled_from(ALPHABET), min_size=2, max_size=4),
    window_days=st.integers(min_value=1, max_value=4),
    first_day=st.integers(min_value=-1, max_value=6),
    span=st.integers(min_value=0, max_value=5),
    breakdown=st.booleans(),
)
def test_funnel_on_event_columns_matches_the_reference(settings, tz, rows, later, built, steps, window_days,
                                                       first_day, span, breakdown):
    """Some UTC days built into columns, more events written afterwards (on built days too): whatever is built,
    changed or neither, the columns engine answers as the reference does on all the events."""
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, tz)
        if built == "every day":
            columns_build(through=BASE + timedelta(days=30))
        else:
            for offset in sorted(built):
                columns_build_day(BASE + timedelta(days=offset))
        plain += _load(later, tz)

        result = funnel_compute(steps=steps, window_days=window_days, date_from=date_from, date_to=date_to,
                                breakdown="channel" if breakdown else None, engine="columns")

        assert result == reference.funnel(plain, steps, window_days, date_from, date_to, tz, breakdown=breakdown,
                                          now=reference.as_of(result))

    _in_rolled_back_transaction(check)
