"""Event columns (analytics/services/columns.py): what the triggers record, what a build packs, how a range is read,
and when the funnel uses them. The funnel's answers on columns are held against the reference in
test_engine_properties.py and in every scenario of test_funnel.py."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from uuid import UUID

import numpy as np
import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from analytics.models import ColumnBlock, ColumnChange, ColumnDay, ColumnProperty, ColumnValue, Event
from analytics.services import columns as columns_module
from analytics.services import funnel as funnel_module
from analytics.services.columns import (
    BUILD_RUN_LOCK_KEY,
    TooRecent,
    columns_build,
    columns_build_day,
    columns_build_through,
    columns_coverage,
    columns_days_to_build,
    columns_read,
    us_2000,
)
from analytics.services.funnel import FunnelQuery, funnel_compute
from analytics.services.loading import events_load
from analytics.tasks import build_event_columns_nightly, build_event_columns_task
from tests.analytics.conftest import POSTGRES
from tests.factories import event_row

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(not POSTGRES, reason="event columns: PostgreSQL only")]

D = date(2026, 3, 2)


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def changed_days() -> list[date]:
    return sorted(set(ColumnChange.objects.values_list("day", flat=True)))


def database_now() -> datetime:
    """The triggers cut "today" by the database's own clock, which the suite's pinned clock does not move."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def test_writes_to_past_days_are_recorded_and_todays_are_not():
    events_load([event_row("visit", "a", at(D)), event_row("visit", "b", at(D + timedelta(days=1), 23, 59)),
                 event_row("visit", "now", database_now())])

    assert changed_days() == [D, D + timedelta(days=1)]

    ColumnChange.objects.all().delete()
    Event.objects.filter(distinct_id="a").update(timestamp=at(D + timedelta(days=5)))
    assert changed_days() == [D, D + timedelta(days=5)]  # the day it left and the day it moved to

    ColumnChange.objects.all().delete()
    Event.objects.filter(distinct_id="b").delete()
    assert changed_days() == [D + timedelta(days=1)]


def test_a_build_packs_each_event_name_of_the_day_and_clears_its_changes():
    events_load([
        event_row("visit", "a", at(D, 1), channel="wechat"),
        event_row("visit", "b", at(D, 2)),
        event_row("order_paid", "a", at(D, 3), channel="douyin"),
        event_row("visit", "next_day", at(D + timedelta(days=1), 0, 0)),
    ])
    assert columns_days_to_build(through=D + timedelta(days=1)) == [D, D + timedelta(days=1)]

    assert columns_build_day(D) == 3

    assert changed_days() == [D + timedelta(days=1)]
    assert ColumnDay.objects.get(day=D).events == 3
    assert sorted(ColumnBlock.objects.filter(day=D).values_list("event", "events")) == [("order_paid", 1), ("visit", 2)]
    assert columns_days_to_build(through=D + timedelta(days=1)) == [D + timedelta(days=1)]

    coverage = columns_coverage(lo=at(D, 0), hi=at(D + timedelta(days=1), 0))
    assert coverage.days == [D] and coverage.gaps == []
    visits = columns_read(names=["visit"], coverage=coverage, full=["visit"])["visit"]
    stored = Event.objects.filter(event="visit", timestamp__lt=at(D + timedelta(days=1), 0)).order_by("id")
    order = np.argsort(visits.ids)
    assert visits.ids[order].tolist() == [e.id for e in stored]
    assert visits.persons[order].tolist() == [e.person_id for e in stored]
    assert visits.times[order].tolist() == [us_2000(e.timestamp) for e in stored]
    assert [visits.channels[code] for code in visits.codes[order]] == ["wechat", ""]


LONG = "x" * 3000  # longer than a btree entry can hold: the dictionary's unique index is on its md5
VALUES = ["12", 12, 12.5, True, "", LONG, "m1", None, "missing"]  # "missing": no such key on the event


@pytest.mark.parametrize("id_table", [columns_module._ID_TABLE, 0], ids=["by table", "by sort"])
def test_property_values_share_one_dictionary_across_days_and_read_the_same_from_gaps(monkeypatch, id_table):
    monkeypatch.setattr(columns_module, "_ID_TABLE", id_table)
    rows = []
    for day in range(3):
        for n, value in enumerate(VALUES):
            properties = {} if value == "missing" else {"k": value}
            rows.append(event_row("visit", f"p{n}", at(D + timedelta(days=day), 1 + n), **properties))
    events_load(rows)
    columns_build_day(D)
    columns_build_day(D + timedelta(days=1))  # day 3 stays a gap: read from the events
    # One row per distinct value and kind, whatever the number of days: "12" and 12 are two, null is none.
    assert ColumnValue.objects.filter(key="k").count() == 7

    coverage = columns_coverage(lo=at(D, 0), hi=at(D + timedelta(days=3), 0))
    assert len(coverage.days) == 2 and len(coverage.gaps) == 1
    read = columns_read(names=["visit"], coverage=coverage, full=["visit"], properties={"visit": ["k"]})["visit"]
    stored = {e.id: e.properties.get("k", "missing") for e in Event.objects.all()}
    expected = [stored[event_id] for event_id in read.ids]

    def text(value):
        return None if value in (None, "missing") else value if isinstance(value, str) else json.dumps(value)

    fresh = read.properties["k"]  # untouched: filters answered from the ids alone
    assert fresh.present().tolist() == [text(value) is not None for value in expected]
    assert fresh.text_in(["12", "m1"]).tolist() == [text(value) in ("12", "m1") for value in expected]
    column = read.properties["k"]
    assert [column.texts[code] for code in column.codes] == [text(value) for value in expected]
    numbers = [column.numbers[code] for code in column.codes]
    assert [None if np.isnan(n) else n for n in numbers] == [
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        for value in expected]
    assert len(column.texts) == 1 + 7  # one entry per value and kind: "12" and 12 are two
    # A key every event of a block carries is stored without its rows (0, 1, …) and read the same.
    assert ColumnProperty.objects.get(day=D, event="visit", key="k").rows is not None
    events_load([event_row("order_paid", f"q{n}", at(D, n), m=f"v{n % 3}", amount=n) for n in range(5)])
    columns_build_day(D)
    assert ColumnProperty.objects.get(day=D, event="order_paid", key="m").rows is None
    orders = columns_read(names=["order_paid"], coverage=columns_coverage(lo=at(D, 0), hi=at(D, 23)),
                          properties={"order_paid": ["m"]}, numbers={"order_paid": ["amount"]})["order_paid"]
    assert [orders.properties["m"].texts[c] for c in orders.properties["m"].codes] == ["v0", "v1", "v2", "v0", "v1"]
    assert orders.properties["amount"].values().tolist() == [0, 1, 2, 3, 4]
    # A read cut (where) before its entries are made makes the entries of what is left only.
    again = columns_read(names=["visit"], coverage=coverage, full=["visit"], properties={"visit": ["k"]})["visit"]
    kept = again.where(np.array([stored[event_id] == LONG for event_id in again.ids])).properties["k"]
    assert kept.text_in([LONG]).tolist() == [True] * 3
    assert kept.texts == [None, LONG] and kept.codes.tolist() == [1] * 3
    # A rebuild finds its values and inserts none: no id is used up (an insert meeting a conflict would burn one).
    last = ColumnValue.objects.order_by("-id").values_list("id", flat=True).first()
    events_load([event_row("visit", "late", at(D, 20), k="m1")])  # changes D: rebuilt below, nothing new in it
    columns_build_day(D)
    events_load([event_row("visit", "new", at(D + timedelta(days=1), 20), k="brand new")])
    columns_build_day(D + timedelta(days=1))
    assert ColumnValue.objects.get(key="k", text="brand new").id == last + 1


def test_a_day_written_after_its_build_is_read_from_the_events_until_rebuilt():
    events_load([event_row("visit", "a", at(D)), event_row("visit", "b", at(D + timedelta(days=1)))])
    columns_build(through=D + timedelta(days=1))
    assert columns_coverage(lo=at(D, 0), hi=at(D + timedelta(days=2), 0)).gaps == []

    events_load([event_row("signup", "a", at(D, 13))])

    coverage = columns_coverage(lo=at(D, 0), hi=at(D + timedelta(days=2), 0))
    assert coverage.days == [D + timedelta(days=1)]
    assert coverage.gaps == [(at(D, 0), at(D + timedelta(days=1), 0))]
    read = columns_read(names=["signup", "visit"], coverage=coverage)
    assert len(read["signup"]) == 1 and len(read["visit"]) == 2

    assert columns_build(through=D + timedelta(days=1)).days == 1  # only the changed day
    assert columns_build(through=D + timedelta(days=1)).days == 0  # and then nothing
    assert columns_coverage(lo=at(D, 0), hi=at(D + timedelta(days=2), 0)).gaps == []


def test_partial_days_at_the_edges_and_unbuilt_days_are_gaps():
    events_load([event_row("visit", "a", at(D + timedelta(days=day))) for day in range(4)])
    columns_build_day(D + timedelta(days=1))
    columns_build_day(D + timedelta(days=2))

    coverage = columns_coverage(lo=at(D, 16), hi=at(D + timedelta(days=3), 16))

    assert coverage.days == [D + timedelta(days=1), D + timedelta(days=2)]
    assert coverage.gaps == [(at(D, 16), at(D + timedelta(days=1), 0)), (at(D + timedelta(days=3), 0),
                                                                         at(D + timedelta(days=3), 16))]


def test_truncating_the_events_forgets_every_column():
    events_load([event_row("visit", "a", at(D), merchant_id="m1")])
    columns_build(through=D)
    assert ColumnDay.objects.exists() and ColumnProperty.objects.exists() and ColumnValue.objects.exists()

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_event")

    assert not ColumnDay.objects.exists() and not ColumnBlock.objects.exists() and not ColumnChange.objects.exists()
    assert not ColumnProperty.objects.exists() and not ColumnValue.objects.exists()


def test_the_default_build_stops_at_the_day_before_yesterday():
    assert columns_build_through(date(2026, 11, 25)) == date(2026, 11, 23)


def test_days_the_triggers_may_not_record_yet_are_never_built():
    """Writes to today are not recorded, and a statement begun before midnight may still write yesterday: columns of
    either could go stale, so nothing builds them."""
    yesterday = columns_build_through() + timedelta(days=1)

    with pytest.raises(TooRecent, match="too recent"):
        columns_build_day(yesterday)
    with pytest.raises(TooRecent):
        columns_build(through=yesterday)
    with pytest.raises(CommandError, match="too recent"):
        call_command("build_event_columns", "--through", str(yesterday))
    assert not ColumnDay.objects.exists()


def _query(**overrides) -> FunnelQuery:
    return FunnelQuery(**{"steps": ("visit", "order_paid"), "window_days": 7, "date_from": D,
                          "date_to": D + timedelta(days=6), **overrides})


def test_the_funnel_reads_columns_unless_a_property_filter_or_too_much_is_unbuilt(monkeypatch):
    events_load([event_row("visit", "a", at(D)), event_row("order_paid", "a", at(D, 14))])

    assert funnel_module._default_engine(_query()) == "columns"  # nothing built yet, but only two events to read
    assert funnel_module._default_engine(_query(property_filter=("merchant_id", "M1"))) == "sql"
    monkeypatch.setattr(columns_module, "MAX_UNBUILT", 0)
    assert funnel_module._default_engine(_query()) == "sql"
    columns_build(through=D + timedelta(days=20))
    assert funnel_module._default_engine(_query()) == "columns"
    monkeypatch.setattr(columns_module, "MAX_EVENTS", 1)
    assert funnel_module._default_engine(_query()) == "sql"


def test_unbuilt_days_are_weighed_by_the_reports_own_events(monkeypatch):
    """A fresh install's history is all unbuilt: a report of a rare event still reads the columns (the hourly counts
    of its own events in the gaps), one of a frequent event goes to the database; so does one whose own events are
    over the memory bound, whatever the other names hold."""
    events_load([event_row("visit", "a", at(D)), event_row("order_paid", "a", at(D, 14)),
                 *(event_row("page_view", f"p{n}", at(D + timedelta(days=n % 5), n % 24)) for n in range(300))])
    monkeypatch.setattr(columns_module, "MAX_UNBUILT", 50)  # the days hold 302 unbuilt events

    around = [(at(D - timedelta(days=1)), at(D + timedelta(days=8)))]
    assert columns_module.events_in(around, ["visit", "order_paid"]) == 2
    assert columns_module.events_in(around) == 302
    assert funnel_module._default_engine(_query()) == "columns"
    assert funnel_module._default_engine(_query(steps=("page_view", "order_paid"))) == "sql"
    columns_build(through=D + timedelta(days=20))
    monkeypatch.setattr(columns_module, "MAX_EVENTS", 100)
    assert funnel_module._default_engine(_query()) == "columns"
    assert funnel_module._default_engine(_query(steps=("page_view", "order_paid"))) == "sql"


def test_the_columns_engine_refuses_a_property_filter():
    with pytest.raises(ValueError, match="merchant filter"):
        funnel_compute(steps=["visit", "order_paid"], window_days=1, date_from=D, date_to=D, engine="columns",
                       property_filter=("merchant_id", "M1"))


def test_command_builds_with_a_progress_bar_and_rejects_a_bad_date():
    events_load([event_row("visit", "a", at(D)), event_row("visit", "a", at(D + timedelta(days=2)))])
    out, err = StringIO(), StringIO()

    call_command("build_event_columns", "--through", str(D + timedelta(days=2)), stdout=out, stderr=err)

    assert "built for 2 day(s)" in out.getvalue() and "2 events" in out.getvalue()
    assert "build_event_columns" in err.getvalue()  # the bar
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("build_event_columns", "--through", "yesterday")


def test_nightly_task_builds_what_is_missing(celery_eager):
    events_load([event_row("visit", "a", at(D))])

    assert build_event_columns_nightly.delay().get() == 1
    assert build_event_columns_nightly.delay().get() == 0
    assert ColumnDay.objects.filter(day=D).exists()


def test_beat_builds_the_columns_every_hour_as_well_as_at_night():
    hourly = PeriodicTask.objects.select_related("crontab").get(name="Hourly event columns")

    assert hourly.task == "analytics.tasks.build_event_columns_task" and hourly.enabled
    assert (hourly.crontab.minute, hourly.crontab.hour) == ("15", "*")
    assert PeriodicTask.objects.get(name="Nightly event columns").task == "analytics.tasks.build_event_columns_nightly"


def test_hourly_task_builds_new_days_then_a_no_op_run_writes_nothing(celery_eager):
    events_load([event_row("visit", "a", at(D)), event_row("visit", "b", at(D + timedelta(days=1)))])

    assert build_event_columns_task.delay().get() == 2
    with CaptureQueriesContext(connection) as queries:
        assert build_event_columns_task.delay().get() == 0

    statements = [query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries]
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    assert len(statements) == 5  # lock, days with events, built days, changed days, unlock
    assert sorted(ColumnDay.objects.values_list("day", flat=True)) == [D, D + timedelta(days=1)]


def test_a_late_event_is_packed_by_the_next_hourly_run(celery_eager):
    events_load([event_row("visit", "a", at(D))])
    build_event_columns_task.delay().get()

    events_load([event_row("visit", "late", at(D, 18))])  # late ingestion (or a merge re-pointing events)

    assert build_event_columns_task.delay().get() == 1
    assert ColumnDay.objects.get(day=D).events == 2 and not ColumnChange.objects.exists()


@pytest.fixture
def other_session():
    """A second database session (another worker or a command), on the test database."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        yield other


def test_a_task_leaves_the_days_to_a_build_already_running(other_session, celery_eager):
    events_load([event_row("visit", "a", at(D))])
    other_session.execute("SELECT pg_advisory_lock(%s)", [BUILD_RUN_LOCK_KEY])  # a build is running elsewhere

    assert columns_build(wait=False).busy
    assert build_event_columns_task.delay().get() == 0
    assert build_event_columns_nightly.delay().get() == 0
    assert not ColumnDay.objects.exists()


def test_a_second_build_waits_for_the_running_one_then_builds_what_is_left(other_session):
    events_load([event_row("visit", "a", at(D))])
    other_session.execute("SELECT pg_advisory_lock(%s)", [BUILD_RUN_LOCK_KEY])
    waited = []

    def running_build_ends():
        waited.append(True)
        other_session.execute("SELECT pg_advisory_unlock(%s)", [BUILD_RUN_LOCK_KEY])

    result = columns_build(through=D, on_wait=running_build_ends)

    assert waited == [True] and (result.days, result.busy) == (1, False)


def test_a_build_looks_again_for_days_written_while_it_ran():
    events_load([event_row("visit", "a", at(D))])
    seen = []

    def progress(done, total, day):
        seen.append((done, total, day))
        if day == D:  # an import lands while the build runs
            events_load([event_row("visit", "b", at(D + timedelta(days=3)))])

    result = columns_build(through=D + timedelta(days=5), progress=progress)

    assert result.days == 2 and seen == [(1, 1, D), (2, 2, D + timedelta(days=3))]
    assert sorted(ColumnDay.objects.values_list("day", flat=True)) == [D, D + timedelta(days=3)]


@pytest.mark.django_db(transaction=True)  # the command's queueing waits for a commit, as outside a test
def test_import_events_packs_the_imported_days_that_can_be_built(celery_eager, tmp_path):
    yesterday = columns_build_through() + timedelta(days=1)
    path = tmp_path / "events.jsonl"
    moments = [at(D), at(D, 13), at(D + timedelta(days=1)), at(yesterday)]
    path.write_text("".join(json.dumps({"event": "visit", "distinct_id": f"c{n}", "uuid": str(UUID(int=n + 1)),
                                        "timestamp": moment.isoformat()}) + "\n" for n, moment in enumerate(moments)))
    err = StringIO()

    call_command("import_events", str(path), stdout=StringIO(), stderr=err)

    assert f"Event columns: 2 of 2 day(s) packed ({D} to {D + timedelta(days=1)})." in err.getvalue()
    assert dict(ColumnDay.objects.values_list("day", "events")) == {D: 2, D + timedelta(days=1): 1}
    assert columns_days_to_build(through=columns_build_through()) == []

    call_command("import_events", str(path), stdout=StringIO(), stderr=(again := StringIO()))
    assert "Event columns" not in again.getvalue()  # only duplicates: nothing queued


@pytest.mark.django_db(transaction=True)
def test_import_events_with_the_broker_down_leaves_the_days_to_the_hourly_build(tmp_path, monkeypatch):
    def broker_down():
        raise ConnectionError("redis down")

    monkeypatch.setattr(build_event_columns_task, "delay", broker_down)
    path = tmp_path / "events.jsonl"
    path.write_text(f'{{"event": "visit", "distinct_id": "c1", "timestamp": "{at(D).isoformat()}"}}\n')
    out = StringIO()

    call_command("import_events", str(path), stdout=out, stderr=(err := StringIO()))

    assert "1 accepted" in out.getvalue()
    assert "the task queue is unavailable; the hourly build packs the imported days" in err.getvalue()
    assert not ColumnDay.objects.exists() and Event.objects.count() == 1


def _steps_everywhere(count: int, *, seed: int) -> list:
    """``count`` events over six days, every one of them a funnel step (the worst case for memory per event)."""
    rng = np.random.default_rng(seed)
    names = np.array(["visit", "signup", "order_paid"])
    starts = datetime(2026, 3, 2, tzinfo=UTC) + np.array([timedelta(seconds=int(s)) for s in
                                                          rng.integers(0, 6 * 86400, count)])
    people = rng.integers(0, max(count // 4, 1), count)
    return [event_row(str(names[i % 3]), f"m{seed}-{people[i]}", starts[i] + timedelta(minutes=5 * (i % 3)),
                      channel=("wechat", "douyin", "organic")[i % 3]) for i in range(count)]


def _funnel_peak_bytes() -> int:
    tracemalloc.start()
    try:
        funnel_compute(steps=["visit", "signup", "order_paid"], window_days=7, date_from=date(2026, 3, 2),
                       date_to=date(2026, 3, 7), engine="columns", breakdown="channel")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_per_event_read_stays_under_the_bound_the_cap_assumes():
    """MAX_EVENTS × BYTES_PER_EVENT ≤ 1 GB bounds one report's memory only if an event read costs at most
    BYTES_PER_EVENT: the marginal peak between two sizes (fixed costs cancel out) must stay under it."""
    small, large = 15_000, 45_000
    for chunk in range(0, small, 5000):
        events_load(_steps_everywhere(5000, seed=chunk))
    columns_build(through=date(2026, 3, 9))
    peak_small = _funnel_peak_bytes()
    for chunk in range(small, large, 5000):
        events_load(_steps_everywhere(5000, seed=chunk))
    columns_build(through=date(2026, 3, 9))
    peak_large = _funnel_peak_bytes()

    per_event = (peak_large - peak_small) / (large - small)
    assert 0 < per_event <= columns_module.BYTES_PER_EVENT, per_event
    assert columns_module.MAX_EVENTS * columns_module.BYTES_PER_EVENT <= 1_000_000_000
