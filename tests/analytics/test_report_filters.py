"""``where=`` filters and segment restrictions on the funnel, retention and golden time: every engine against the
brute-force references (tests/analytics/reference.py) run on the events that pass (the filters apply to every event a
report reads, DESIGN.md), on dense random data with every operator."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.models import Event, Person
from analytics.services.columns import columns_build
from analytics.services.filters import where_parse
from analytics.services.funnel import funnel_compute
from analytics.services.golden_time import golden_time_compute
from analytics.services.loading import EventRow, events_load
from analytics.services.retention import retention_compute
from tests.analytics import reference
from tests.analytics import reports_reference as ref
from tests.analytics.conftest import ENGINES, POSTGRES

pytestmark = pytest.mark.django_db
BASE = date(2026, 2, 26)
MISSING = object()
FILTERS = [[], [("kind", "eq", "x")], [("kind", "neq", "x")], [("kind", "in", ["x", "1"])],
           [("kind", "not_in", ["y", "true"])], [("kind", "contains", "2")], [("amount", "gt", 1.0)],
           [("amount", "lte", 2.5)], [("kind", "is_set", None)], [("amount", "is_not_set", None)],
           [("kind", "neq", "y"), ("amount", "gte", 1.0)],
           # one key compared as a number and as a text: read with its dictionary, not for its numbers alone
           [("amount", "gte", 1.0), ("amount", "neq", "10")]]


def _load(tz: str, seed: int):
    zone = ZoneInfo(tz)
    chance = random.Random(seed)
    kinds = ["x", "y", "", 1, 2.5, True, None, MISSING]
    amounts = [1, 2.5, 10, "7", None, MISSING]
    rows = []
    for _ in range(300):
        props = {}
        kind, amount = chance.choice(kinds), chance.choice(amounts)
        if kind is not MISSING:
            props["kind"] = kind
        if amount is not MISSING:
            props["amount"] = amount
        if chance.random() < 0.6:
            props["channel"] = chance.choice(["wechat", "douyin"])
        at = datetime.combine(BASE + timedelta(days=chance.randrange(-3, 12)),
                              time(chance.choice([0, 1, 12, 23]), chance.choice([0, 59])), zone)
        rows.append(EventRow(uuid=uuid.uuid4(), event=chance.choice("abc"), distinct_id=f"p{chance.randrange(20)}",
                             timestamp=at, properties=props))
    events_load(rows)
    ids = dict(Event.objects.values_list("uuid", "id"))
    return [(reference.Ev(id=ids[row.uuid], person=row.distinct_id, event=row.event, ts=row.timestamp,
                          channel=str(row.properties.get("channel", "")), props=row.properties), row.properties)
            for row in rows]


def _kept(events, where, members):
    return [ev for ev, props in events if all(ref.passes(props, item) for item in where)
            and (members is None or ev.person in members)]


def _restriction(where, segment):
    members = {"p1", "p3", "p5", "p8"} if segment else None
    people = Person.objects.filter(distinct_id__in=sorted(members)).values("id") if segment else None
    return members, {"where": where_parse([ref.where_param(item) for item in where]), "people": people}


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_funnel_retention_and_golden_time_filtered(settings, tz):
    settings.TIME_ZONE = tz
    events = _load(tz, seed=3)
    date_from, date_to = BASE, BASE + timedelta(days=5)
    for where in FILTERS:
        for segment in (False, True):
            members, restriction = _restriction(where, segment)
            kept = _kept(events, where, members)
            for engine in ENGINES:
                label = (engine, where, segment)
                result = funnel_compute(steps=["a", "b", "a"], window_days=3, date_from=date_from, date_to=date_to,
                                        breakdown="channel", engine=engine, **restriction)
                assert result == reference.funnel(kept, ["a", "b", "a"], 3, date_from, date_to, tz, breakdown=True,
                                                  now=reference.as_of(result)), label
                assert retention_compute(cohort_event="a", return_event="b", period="day", date_from=date_from,
                                         date_to=date_to, periods=5, engine=engine, **restriction) == \
                    reference.retention(kept, "a", "b", "day", date_from, date_to, tz, periods=5), label
                assert golden_time_compute(event="c", date_from=date_from, date_to=date_to, engine=engine,
                                           **restriction)["matrix"] == reference.golden_time(
                    kept, "c", date_from, date_to, tz), label
    if POSTGRES:  # the event columns: every day read from the events, then every day built
        for built in (False, True):
            if built:
                columns_build()
            for where in FILTERS:
                for segment in (False, True):
                    members, restriction = _restriction(where, segment)
                    kept = _kept(events, where, members)
                    label = ("columns", built, where, segment)
                    result = funnel_compute(steps=["a", "b", "a"], window_days=3, date_from=date_from,
                                            date_to=date_to, breakdown="kind", engine="columns", **restriction)
                    assert result == reference.funnel(kept, ["a", "b", "a"], 3, date_from, date_to, tz,
                                                      breakdown_key="kind", now=reference.as_of(result)), label
                    assert retention_compute(cohort_event="a", return_event="b", period="day", date_from=date_from,
                                             date_to=date_to, periods=5, engine="columns", **restriction) == \
                        reference.retention(kept, "a", "b", "day", date_from, date_to, tz, periods=5), label


def test_exclude_segment_leaves_its_members_out(settings):
    events = _load("Asia/Shanghai", seed=4)
    members = Person.objects.filter(distinct_id__in=["p1", "p2"]).values("id")
    kept = [ev for ev, _props in events if ev.person not in {"p1", "p2"}]
    for engine in ENGINES:
        result = funnel_compute(steps=["a", "b"], window_days=3, date_from=BASE, date_to=BASE + timedelta(days=5),
                                engine=engine, exclude_people=members)
        assert result == reference.funnel(kept, ["a", "b"], 3, BASE, BASE + timedelta(days=5), "Asia/Shanghai",
                                          now=reference.as_of(result))
