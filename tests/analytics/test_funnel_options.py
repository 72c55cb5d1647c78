"""The funnel's options — breakdown by any entry-event property with top N, step windows, exclusion steps, value per
step; and retention by any property of the cohort event — on every engine against the brute-force reference
(tests/analytics/reference.py, README's exact rules).

Random customers on the coarse time grid of test_engine_properties.py (ties, local midnights, a window's edge, the
start of daylight saving in New York), with properties that are strings, numbers, numeric strings, booleans, null or
missing. The columns engine (every property dictionary-encoded) is held to the reference on every option, over partly
built days; retention by a property on the columns reads the cohort event's history unbuilt and built.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.models import Event
from analytics.services.columns import columns_build, columns_build_day
from analytics.services.funnel import funnel_compute
from analytics.services.loading import EventRow, events_load
from analytics.services.retention import retention_compute
from tests.analytics import reference
from tests.analytics.conftest import ENGINES, POSTGRES
from tests.analytics.test_engine_properties import (
    BASE,
    CHANNELS,
    HYPOTHESIS,
    ZONES,
    _in_rolled_back_transaction,
    local_moments,
)

pytestmark = pytest.mark.django_db

ALPHABET = ["a", "b", "c", "x"]  # x: mostly an exclusion event
UTM = [None, "baidu", "wechat", "", 7, True]
AMOUNTS = [None, 1, 2.5, -3, "4", False, 1000000]
WINDOWS = [None, 1, 1800, 43200, 86400, 172800]  # seconds: a step window per step, or none


@st.composite
def option_rows(draw, min_size=0):
    customers = draw(st.integers(min_value=1, max_value=6))
    rows = draw(st.lists(st.tuples(st.integers(0, customers - 1), st.sampled_from(ALPHABET), local_moments(),
                                   st.sampled_from(CHANNELS), st.sampled_from(UTM), st.sampled_from(AMOUNTS)),
                         min_size=min_size, max_size=40))
    return [(f"p{person}", name, day, moment, channel, utm, amount)
            for person, name, (day, moment), channel, utm, amount in rows]


@st.composite
def options(draw, steps: int):
    exclusions = draw(st.lists(st.tuples(st.sampled_from(ALPHABET), st.integers(0, steps - 1),
                                         st.integers(0, steps - 1)).filter(lambda e: e[1] < e[2]), max_size=2))
    return {
        "step_windows": tuple(draw(st.lists(st.sampled_from(WINDOWS), max_size=steps - 1))),
        "exclusions": tuple(exclusions),
    }


def _load(rows, tz: str) -> list[reference.Ev]:
    zone = ZoneInfo(tz)
    loaded = []
    for person, name, day, moment, channel, utm, amount in rows:
        properties = {"channel": channel} if channel else {}
        if utm is not None:
            properties["utm"] = utm
        if amount is not None:
            properties["amount"] = amount
        loaded.append(EventRow(uuid=uuid.uuid4(), event=name, distinct_id=person,
                               timestamp=datetime.combine(day, moment, zone), properties=properties))
    events_load(loaded)
    ids = dict(Event.objects.values_list("uuid", "id"))
    return [reference.Ev(id=ids[row.uuid], person=row.distinct_id, event=row.event, ts=row.timestamp,
                         channel=row.properties.get("channel", ""), props=row.properties) for row in loaded]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("engine", ENGINES)
@HYPOTHESIS
@given(
    rows=option_rows(),
    data=st.data(),
    steps=st.lists(st.sampled_from(ALPHABET[:3]), min_size=2, max_size=4),
    window_days=st.integers(min_value=1, max_value=3),
    first_day=st.integers(min_value=-1, max_value=6),
    span=st.integers(min_value=0, max_value=4),
    breakdown=st.sampled_from([None, "channel", "utm"]),
    limit=st.integers(min_value=1, max_value=4),
    value=st.booleans(),
)
def test_funnel_options_match_the_reference(settings, engine, tz, rows, data, steps, window_days, first_day, span,
                                            breakdown, limit, value):
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)
    chosen = data.draw(options(len(steps)))

    def check():
        plain = _load(rows, tz)

        result = funnel_compute(steps=steps, window_days=window_days, date_from=date_from, date_to=date_to,
                                breakdown=breakdown, breakdown_limit=limit, engine=engine,
                                value_property="amount" if value else None, **chosen)

        assert result == reference.funnel(plain, steps, window_days, date_from, date_to, tz,
                                          breakdown=breakdown == "channel",
                                          breakdown_key="utm" if breakdown == "utm" else None, limit=limit,
                                          value_property="amount" if value else None,
                                          now=reference.as_of(result), **chosen)

    _in_rolled_back_transaction(check)


@pytest.mark.skipif(not POSTGRES, reason="event columns are kept on PostgreSQL only")
@pytest.mark.parametrize("tz", ZONES)
@HYPOTHESIS
@given(
    rows=option_rows(min_size=1),
    data=st.data(),
    built=st.sets(st.integers(min_value=-4, max_value=14)),
    steps=st.lists(st.sampled_from(ALPHABET[:3]), min_size=2, max_size=4),
    window_days=st.integers(min_value=1, max_value=3),
    first_day=st.integers(min_value=-1, max_value=6),
    span=st.integers(min_value=0, max_value=4),
    breakdown=st.sampled_from([None, "channel", "utm"]),
    limit=st.integers(min_value=1, max_value=3),
    value=st.booleans(),
)
def test_funnel_options_on_event_columns_match_the_reference(settings, tz, rows, data, built, steps, window_days,
                                                             first_day, span, breakdown, limit, value):
    """Some days built, the rest read from the events: options, a property breakdown and values per step."""
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)
    chosen = data.draw(options(len(steps)))

    def check():
        plain = _load(rows, tz)
        for offset in sorted(built):
            columns_build_day(BASE + timedelta(days=offset))

        result = funnel_compute(steps=steps, window_days=window_days, date_from=date_from, date_to=date_to,
                                breakdown=breakdown, breakdown_limit=limit, engine="columns",
                                value_property="amount" if value else None, **chosen)

        assert result == reference.funnel(plain, steps, window_days, date_from, date_to, tz,
                                          breakdown=breakdown == "channel",
                                          breakdown_key="utm" if breakdown == "utm" else None, limit=limit,
                                          value_property="amount" if value else None,
                                          now=reference.as_of(result), **chosen)

    _in_rolled_back_transaction(check)


def test_the_default_engine_routes_only_the_merchant_filter_to_sql():
    from analytics.services.filters import where_parse
    from analytics.services.funnel import FunnelQuery, _default_engine

    common = {"steps": ("a", "b"), "window_days": 1, "date_from": BASE, "date_to": BASE}
    on_columns = [FunnelQuery(**common, breakdown="utm"), FunnelQuery(**common, value_property="amount"),
                  FunnelQuery(**common, where=tuple(where_parse(["properties.utm:eq:x"]))),
                  FunnelQuery(**common, breakdown="channel", step_windows=(60,), exclusions=(("x", 0, 1),))]
    merchant = FunnelQuery(**common, property_filter=("merchant_id", "m1"))
    if not POSTGRES:
        assert {_default_engine(query) for query in [*on_columns, merchant]} == {"pandas"}
    else:
        assert {_default_engine(query) for query in on_columns} == {"columns"}
        assert _default_engine(merchant) == "sql"


@pytest.mark.parametrize("bad", [
    {"breakdown_limit": 0}, {"breakdown_limit": 26}, {"step_windows": (60, 60)}, {"step_windows": (0,)},
    {"exclusions": (("x", 1, 1),)}, {"exclusions": (("x", 0, 2),)}, {"exclusions": (("x", 0, 1),) * 6},
])
def test_bad_options_are_refused_by_the_service(bad):
    with pytest.raises(ValueError):
        funnel_compute(steps=["a", "b"], window_days=1, date_from=BASE, date_to=BASE, **bad)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("engine", [*ENGINES, *(["columns", "columns (built)"] if POSTGRES else [])])
@HYPOTHESIS
@given(
    rows=option_rows(),
    cohort_event=st.sampled_from(ALPHABET[:3]),
    return_event=st.sampled_from(ALPHABET[:3]),
    period=st.sampled_from(["day", "week", "month"]),
    first_day=st.integers(min_value=-2, max_value=6),
    span=st.integers(min_value=0, max_value=6),
    periods=st.integers(min_value=1, max_value=6),
    breakdown=st.sampled_from(["channel", "utm"]),
    limit=st.integers(min_value=1, max_value=4),
)
def test_retention_breakdown_matches_the_reference(settings, engine, tz, rows, cohort_event, return_event, period,
                                                   first_day, span, periods, breakdown, limit):
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        plain = _load(rows, tz)
        if engine == "columns (built)":
            columns_build()

        result = retention_compute(cohort_event=cohort_event, return_event=return_event, period=period,
                                   date_from=date_from, date_to=date_to, periods=periods,
                                   engine="columns" if engine == "columns (built)" else engine,
                                   breakdown=breakdown, breakdown_limit=limit)

        assert result == reference.retention(plain, cohort_event, return_event, period, date_from, date_to, tz,
                                             periods=periods, breakdown=breakdown, limit=limit)

    _in_rolled_back_transaction(check)
