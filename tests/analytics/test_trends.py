"""Trends against the brute-force reference (tests/analytics/reports_reference.py) on random events, both engines.

Random customers, two event names, properties drawn so breakdown values tie (ranking ties), repeat, are missing, null,
empty, numbers, booleans and numeric strings; ranges around the pinned today (2026-11-25), so the last periods are
partial or still to come, and cross a month's end.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import Person
from analytics.services.columns import columns_build
from analytics.services.filters import top_codes, top_values, where_parse
from analytics.services.loading import EventRow, events_load
from analytics.services.stickiness import stickiness_compute
from analytics.services.trends import _measure_by, _Spec, trends_compute
from ops_platform.core.exceptions import ApplicationError
from tests.analytics import reports_reference as ref
from tests.analytics.conftest import FUNNEL_ENGINES as ENGINES

pytestmark = pytest.mark.django_db

BASE = date(2026, 11, 19)  # a Thursday, a week before the pinned today; the grid reaches December
ZONES = ["Asia/Shanghai", "America/New_York"]
MISSING = object()
HYPOTHESIS = settings(max_examples=100, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

KIND_VALUES = st.sampled_from(["x", "y", "z", "", 1, 2.5, True, None, MISSING])
AMOUNTS = st.sampled_from([1, 2.5, 10, -3, "7", None, MISSING])


@st.composite
def event_sets(draw):
    customers = draw(st.integers(min_value=1, max_value=6))
    rows = draw(st.lists(st.tuples(
        st.integers(0, customers - 1), st.sampled_from(["a", "a", "b"]), st.integers(-10, 14),
        st.sampled_from([0, 1, 12, 23]), st.sampled_from([0, 59]), KIND_VALUES, AMOUNTS,
    ), max_size=40))
    return rows


def _load(rows, tz: str) -> list[ref.PEv]:
    zone = ZoneInfo(tz)
    loaded = []
    for person, name, day, hour, minute, kind, amount in rows:
        props = {}
        if kind is not MISSING:
            props["kind"] = kind
        if amount is not MISSING:
            props["amount"] = amount
        loaded.append(EventRow(uuid=uuid.uuid4(), event=name, distinct_id=f"p{person}",
                               timestamp=datetime.combine(BASE + timedelta(days=day), time(hour, minute), zone),
                               properties=props))
    events_load(loaded)
    return [ref.PEv(person=row.distinct_id, event=row.event, ts=row.timestamp, props=row.properties) for row in loaded]


def _engine(engine: str) -> str:
    """The engine to ask for; "columns (built)" builds the event columns of every stored day that can be built first
    (up to the day before yesterday: the later days of the data are read from the events around them)."""
    if engine == "columns (built)":
        columns_build()
        return "columns"
    return engine


class _Rollback(Exception):
    pass


def _rolled_back(check) -> None:
    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass


def _shape(result: dict) -> list[dict]:
    return [{"key": s.get("breakdown_value"), "compare": s.get("compare", False), "points": s["points"]}
            for s in result["series"]]


def _same(actual, expected) -> bool:
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(_same(actual[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, float) or isinstance(actual, float):
        # Values are rounded to 6 decimals (trends.VALUE_DECIMALS): equal to half the last one.
        return actual is not None and expected is not None and math.isclose(actual, expected, rel_tol=1e-9,
                                                                              abs_tol=5e-7)
    return actual == expected


FILTERS = st.lists(st.sampled_from([
    ("kind", "eq", "x"), ("kind", "neq", "x"), ("kind", "in", ["x", "1"]), ("kind", "not_in", ["y", "true"]),
    ("kind", "contains", "2"), ("amount", "gt", 1.0), ("amount", "gte", 2.5), ("amount", "lt", 5.0),
    ("amount", "lte", -3.0), ("kind", "is_set", None), ("amount", "is_not_set", None),
]), max_size=2)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("engine", ENGINES)
@HYPOTHESIS
@given(rows=event_sets(), measure=st.sampled_from(["total", "unique", "sum", "avg", "median"]),
       interval=st.sampled_from(["day", "week", "month"]), first_day=st.integers(-8, 6), span=st.integers(0, 12),
       breakdown=st.booleans(), limit=st.integers(1, 4), where=FILTERS, compare=st.booleans(),
       segment=st.booleans())
def test_trends_match_the_reference(settings, engine, tz, rows, measure, interval, first_day, span, breakdown, limit,
                                    where, compare, segment):
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)
    prop = "amount" if measure in ("sum", "avg", "median") else None

    def check():
        plain = _load(rows, tz)
        members = {"p0", "p2"} if segment else None
        people = Person.objects.filter(distinct_id__in=sorted(members)).values("id") if segment else None

        asked = {"event": "a", "measure": measure, "property": prop, "interval": interval, "date_from": date_from,
                 "date_to": date_to, "breakdown": "kind" if breakdown else None, "breakdown_limit": limit,
                 "where": where_parse([ref.where_param(item) for item in where]), "compare": compare,
                 "people": people, "engine": _engine(engine)}
        if ref.trends_refused(plain, event="a", prop=prop, date_from=date_from, date_to=date_to, tz=tz, where=where,
                              people=members):
            with pytest.raises(ApplicationError) as refused:
                trends_compute(**asked)
            assert list(refused.value.errors) == ["property"]
            return
        result = trends_compute(**asked)

        expected = ref.trends(plain, event="a", measure=measure, prop=prop, interval=interval, date_from=date_from,
                              date_to=date_to, tz=tz, breakdown="kind" if breakdown else None, limit=limit,
                              where=where, compare=compare, people=members)
        assert _same(_shape(result), expected), (_shape(result), expected)

    _rolled_back(check)


def test_partial_period_is_flagged_and_an_empty_range_reads_zero(db):
    # today is 2026-11-25 (a Wednesday): this week and this month are not complete; nothing stored reads 0
    result = trends_compute(event="order_paid", interval="week", date_from=date(2026, 11, 9),
                            date_to=date(2026, 11, 25))
    points = result["series"][0]["points"]
    assert [(p["period"], p["value"], p["complete"], p["cut"]) for p in points] == [
        ("2026-11-09", 0, True, False), ("2026-11-16", 0, True, False), ("2026-11-23", 0, False, True)]


def test_periods_not_started_have_no_value_and_today_counts_so_far(db):
    # today is 2026-11-25: its day has a value so far; the days after it have none (null, not 0), nor does a week
    # whose first day in the range is after today; a week holding today is so far
    zone = ZoneInfo("Asia/Shanghai")
    events_load([EventRow(uuid=uuid.uuid4(), event="order_paid", distinct_id="c1",
                          timestamp=datetime(2026, 11, 25, 9, tzinfo=zone), properties={"amount": 0.1}),
                 EventRow(uuid=uuid.uuid4(), event="order_paid", distinct_id="c2",
                          timestamp=datetime(2026, 11, 24, 9, tzinfo=zone), properties={"amount": 0.2})])

    days = trends_compute(event="order_paid", interval="day", date_from=date(2026, 11, 24),
                          date_to=date(2026, 11, 27))["series"][0]["points"]
    weeks = trends_compute(event="order_paid", measure="sum", property="amount", interval="week",
                           date_from=date(2026, 11, 23), date_to=date(2026, 12, 6))["series"][0]["points"]

    assert [(p["period"], p["value"], p["complete"]) for p in days] == [
        ("2026-11-24", 1, True), ("2026-11-25", 1, False), ("2026-11-26", None, False), ("2026-11-27", None, False)]
    assert [(p["period"], p["value"], p["complete"]) for p in weeks] == [
        ("2026-11-23", 0.3, False), ("2026-11-30", None, False)]  # 0.1 + 0.2 reads 0.3 (6 decimals)


def test_stickiness_leaves_days_not_started_blank_and_counts_active_days_over_complete_days(db):
    zone = ZoneInfo("Asia/Shanghai")
    events_load([EventRow(uuid=uuid.uuid4(), event="a", distinct_id="c1",
                          timestamp=datetime(2026, 11, d, 9, tzinfo=zone), properties={}) for d in (18, 20, 24, 25)])

    result = stickiness_compute(event="a", date_from=date(2026, 11, 23), date_to=date(2026, 11, 28))

    assert [(d["date"], d["dau"], d["wau"], d["complete"]) for d in result["days"]] == [
        ("2026-11-23", 0, 1, True), ("2026-11-24", 1, 1, True), ("2026-11-25", 1, 1, False),
        ("2026-11-26", None, None, False), ("2026-11-27", None, None, False), ("2026-11-28", None, None, False)]
    # the 7 days up to yesterday (11-18 … 11-24): active on 3 of them; today (so far) and the days to come not counted
    assert result["active_days_through"] == "2026-11-24"
    assert [row["customers"] for row in result["active_days_7"]] == [0, 0, 1, 0, 0, 0, 0]
    # a range that starts today has no complete day: no distribution at all (not zeros, not days before the range)
    today_on = stickiness_compute(event="a", date_from=date(2026, 11, 25), date_to=date(2026, 11, 27))
    assert (today_on["active_days_through"], today_on["active_days_7"], today_on["active_days_30"]) == (
        None, None, None)


def test_ties_in_the_top_values_go_to_the_smaller_value(db):
    zone = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 11, 20, 12, tzinfo=zone)
    events_load([EventRow(uuid=uuid.uuid4(), event="visit", distinct_id=f"c{i}", timestamp=at,
                          properties={"utm_source": source})
                 for i, source in enumerate(["b", "a", "c", "c", "d"])])
    for engine in ENGINES:
        result = trends_compute(event="visit", date_from=date(2026, 11, 20), date_to=date(2026, 11, 20),
                                breakdown="utm_source", breakdown_limit=2, engine=_engine(engine))
        assert [(s["breakdown_value"], s["points"][0]["value"]) for s in result["series"]] == [
            ("c", 2), ("a", 1), ("(other)", 2)], engine


ALL_FILTERS = [("kind", "eq", "x"), ("kind", "eq", "1"), ("kind", "neq", "x"), ("kind", "in", ["x", "1", "true"]),
               ("kind", "not_in", ["y", "true"]), ("kind", "contains", "2"), ("amount", "gt", 1.0),
               ("amount", "gte", 2.5), ("amount", "lt", 5.0), ("amount", "lte", -3.0), ("kind", "is_set", None),
               ("kind", "is_not_set", None), ("amount", "is_not_set", None)]


@pytest.mark.parametrize("tz", ZONES)
def test_every_filter_measure_and_interval_on_a_fixed_random_set(settings, tz):
    """Dense random data (every property shape, many customers), every operator and measure, both engines."""
    settings.TIME_ZONE = tz
    chance = random.Random(15)
    values = ["x", "y", "z", "", 1, 2.5, True, None, MISSING]
    amounts = [1, 2.5, 10, -3, "7", None, MISSING]
    rows = [(chance.randrange(25), chance.choice(["a", "a", "b"]), chance.randrange(-10, 15),
             chance.choice([0, 12, 23]), chance.choice([0, 59]), chance.choice(values),
             chance.choice(amounts)) for _ in range(400)]
    plain = _load(rows, tz)
    date_from, date_to = BASE - timedelta(days=5), BASE + timedelta(days=9)
    for engine in ENGINES:
        for where in [[], *([item] for item in ALL_FILTERS), [ALL_FILTERS[2], ALL_FILTERS[6]]]:
            for measure in ("total", "unique", "sum", "avg", "median"):
                for interval, breakdown, limit in (("day", None, 10), ("week", "kind", 3), ("month", "kind", 25)):
                    prop = "amount" if measure in ("sum", "avg", "median") else None
                    asked = {"event": "a", "measure": measure, "property": prop, "interval": interval,
                             "date_from": date_from, "date_to": date_to, "breakdown": breakdown,
                             "breakdown_limit": limit, "compare": interval == "week",
                             "where": where_parse([ref.where_param(item) for item in where]),
                             "engine": _engine(engine)}
                    if ref.trends_refused(plain, event="a", prop=prop, date_from=date_from, date_to=date_to, tz=tz,
                                          where=where):  # a filter left only texts in amount
                        with pytest.raises(ApplicationError):
                            trends_compute(**asked)
                        continue
                    result = trends_compute(**asked)
                    expected = ref.trends(plain, event="a", measure=measure, prop=prop, interval=interval,
                                          date_from=date_from, date_to=date_to, tz=tz, breakdown=breakdown,
                                          limit=limit, where=where, compare=interval == "week")
                    assert _same(_shape(result), expected), (engine, where, measure, interval)


@pytest.mark.parametrize("tz", ZONES)
@HYPOTHESIS
@given(rows=event_sets(), first_day=st.integers(-8, 6), span=st.integers(0, 12), where=FILTERS,
       segment=st.booleans())
def test_stickiness_matches_the_reference(settings, tz, rows, first_day, span, where, segment):
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, tz)
        members = {"p0", "p2"} if segment else None
        people = Person.objects.filter(distinct_id__in=sorted(members)).values("id") if segment else None

        result = stickiness_compute(event="a", date_from=date_from, date_to=date_to, people=people,
                                    where=where_parse([ref.where_param(item) for item in where]))

        expected = ref.stickiness(plain, event="a", date_from=date_from, date_to=date_to, tz=tz, where=where,
                                  people=members)
        assert _same({key: result[key] for key in expected}, expected)

    _rolled_back(check)


@pytest.mark.parametrize("tz", ZONES)
def test_stickiness_on_a_fixed_random_set(settings, tz):
    settings.TIME_ZONE = tz
    chance = random.Random(7)
    rows = [(chance.randrange(30), chance.choice(["a", "a", "b"]), chance.randrange(-40, 15),
             chance.choice([0, 12, 23]), chance.choice([0, 59]), "x", 1) for _ in range(600)]
    plain = _load(rows, tz)
    for date_from, date_to in ((BASE - timedelta(days=20), BASE + timedelta(days=10)), (BASE, BASE)):
        result = stickiness_compute(event="a", date_from=date_from, date_to=date_to)
        expected = ref.stickiness(plain, event="a", date_from=date_from, date_to=date_to, tz=tz)
        assert _same({key: result[key] for key in expected}, expected)


@pytest.mark.parametrize("spread", [1, 3_000_000_000], ids=["int32 pairs", "int64 pairs"])
def test_unique_counts_distinct_people_per_key_whatever_the_span_of_their_ids(spread):
    """The columns' distinct count sorts (key, person) pairs as int32 when they fit and as int64 otherwise."""
    chance = random.Random(spread)
    keys = [chance.randrange(4) for _ in range(500)]
    persons = [7 + chance.randrange(30) * spread for _ in range(500)]
    spec = _Spec(event="e", measure="unique", property=None, interval="day", breakdown=None, where=(), people=None,
                 exclude_people=None)
    measured = _measure_by(np.array(keys, np.int64), 5, spec, np.array(persons, np.int64), None)
    expected = {key: float(len({p for k, p in zip(keys, persons, strict=True) if k == key})) for key in set(keys)}
    assert measured == expected


@given(measures=st.lists(st.one_of(st.none(), st.integers(0, 3).map(float)), min_size=0, max_size=12),
       limit=st.integers(1, 5))
def test_top_codes_ranks_as_top_values(measures, limit):
    """The numpy ranking of the columns (codes of sorted values) and the dict ranking of the other engines agree,
    ties and missing measures included."""
    names = [f"v{n:02d}" for n in range(len(measures))]  # sorted, as breakdown_labels returns them
    array = np.array([math.nan if m is None else m for m in measures], np.float64)
    codes, other = top_codes(array, np.ones(len(measures), bool), limit)
    assert ([names[code] for code in codes], other) == top_values(dict(zip(names, measures, strict=True)), limit)
