"""The counts per event name and UTC hour (``EventCountHourly``, kept by PostgreSQL triggers) and the trends engine
that reads them: after any mix of inserts, moves, renames, deletes and truncation, through the ORM, raw SQL and COPY,
the counts equal the events counted, and a trends total read from them equals the brute-force reference."""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from hypothesis import given
from hypothesis import strategies as st

from analytics.models import Event, EventCountHourly, Person
from analytics.services import trends as trends_module
from analytics.services.filters import where_parse
from analytics.services.trends import _counts_fit, _Spec, trends_compute
from tests.analytics import reports_reference as ref
from tests.analytics.conftest import POSTGRES
from tests.analytics.test_migrations import expected_name_counts, name_counts
from tests.analytics.test_trends import BASE, HYPOTHESIS, _load, _rolled_back, _same, _shape, event_sets

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not POSTGRES, reason="the counts are kept by PostgreSQL's triggers")]

# Shanghai and New York start every local day on a whole UTC hour (New York's daylight saving ends in the grid);
# Kolkata (+05:30) never does, so its totals must come from another engine.
ZONES = ["Asia/Shanghai", "America/New_York", "Asia/Kolkata"]


def _stored() -> list[ref.PEv]:
    return [ref.PEv(person=e.distinct_id, event=e.event, ts=e.timestamp, props=e.properties)
            for e in Event.objects.order_by("id")]


@pytest.mark.parametrize("tz", ZONES)
@HYPOTHESIS
@given(rows=event_sets(), interval=st.sampled_from(["day", "week", "month"]), first_day=st.integers(-8, 6),
       span=st.integers(0, 12), compare=st.booleans(), seed=st.integers(0, 2**16),
       hours=st.integers(-40, 40))
def test_totals_from_the_counts_match_the_reference_after_any_writes(settings, tz, rows, interval, first_day, span,
                                                                      compare, seed, hours):
    settings.TIME_ZONE = tz
    date_from = BASE + timedelta(days=first_day)
    date_to = date_from + timedelta(days=span)

    def check():
        _load(rows, tz)
        ids = list(Event.objects.order_by("id").values_list("id", flat=True))
        rng = random.Random(seed)
        pick = (lambda: rng.sample(ids, k=rng.randint(0, min(3, len(ids))))) if ids else list
        # Writes after the load, each one statement: moved in time, renamed, merged into another customer (moves
        # nothing), deleted.
        Event.objects.filter(id__in=pick()).update(timestamp=F("timestamp") + timedelta(hours=hours))
        Event.objects.filter(id__in=pick(), event="a").update(event="b")
        Event.objects.filter(id__in=pick(), event="b").update(event="a")
        Event.objects.filter(id__in=pick()).update(distinct_id="merged")
        Event.objects.filter(id__in=pick()).delete()
        assert name_counts() == expected_name_counts()

        spec = _Spec(event="a", measure="total", property=None, interval=interval, breakdown=None, where=(),
                     people=None, exclude_people=None)
        whole_hours = tz != "Asia/Kolkata"
        assert _counts_fit(spec, date_from, date_to) is whole_hours
        result = trends_compute(event="a", interval=interval, date_from=date_from, date_to=date_to, compare=compare,
                                engine="counts" if whole_hours else None)
        expected = ref.trends(_stored(), event="a", measure="total", prop=None, interval=interval,
                              date_from=date_from, date_to=date_to, tz=tz, compare=compare)
        assert _same(_shape(result), expected), (_shape(result), expected)

    _rolled_back(check)


def test_the_default_engine_reads_the_counts_only_for_an_unfiltered_total(settings, monkeypatch):
    settings.TIME_ZONE = "Asia/Shanghai"
    engines = []
    for name in ("_run_counts", "_run_columns", "_run_sql"):
        real = getattr(trends_module, name)
        monkeypatch.setattr(trends_module, name,
                            lambda *args, real=real, name=name, **kwargs: engines.append(name) or real(*args, **kwargs))
    days = {"date_from": date(2026, 11, 1), "date_to": date(2026, 11, 24)}
    trends_compute(event="visit", **days)
    trends_compute(event="visit", **days, compare=True)
    assert engines == ["_run_counts"] * 3
    members = Person.objects.filter(distinct_id="c1").values("id")
    for other in ({"measure": "unique"}, {"breakdown": "utm_source"},
                  {"where": where_parse(["properties.utm_source:eq:ads"])}, {"people": members}):
        engines.clear()
        trends_compute(event="visit", **days, **other)
        assert engines and "_run_counts" not in engines, other
    with pytest.raises(ValueError, match="whole-hour"):
        trends_compute(event="visit", measure="unique", engine="counts", **days)


def test_copy_raw_sql_and_truncate_keep_the_counts():
    at = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Event._meta.db_table} (uuid, event, distinct_id, person_id, timestamp, channel, "  # noqa: S608
                       "properties, received_at) VALUES (%s, 'visit', 'c1', 1, %s, '', '{}', %s), "
                       "(%s, 'visit', 'c1', 1, %s, '', '{}', %s)",
                       [uuid.uuid4(), at, at, uuid.uuid4(), at + timedelta(hours=1), at])
        copied = io.StringIO("".join(f"{uuid.uuid4()}\tsignup\tc2\t2\t{at.isoformat()}\t\t{{}}\t{at.isoformat()}\n"
                                     for _ in range(3)))
        with cursor.copy(f"COPY {Event._meta.db_table} (uuid, event, distinct_id, person_id, timestamp, channel, "  # noqa: S608
                         "properties, received_at) FROM STDIN") as copy:
            copy.write(copied.getvalue())
    assert name_counts() == expected_name_counts() == {
        ("visit", datetime(2026, 11, 20, 3, tzinfo=UTC)): 1, ("visit", datetime(2026, 11, 20, 4, tzinfo=UTC)): 1,
        ("signup", datetime(2026, 11, 20, 3, tzinfo=UTC)): 3}
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Event._meta.db_table}")  # noqa: S608
    assert not EventCountHourly.objects.exists()
