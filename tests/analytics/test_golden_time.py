from __future__ import annotations

from datetime import date

import pytest

from analytics.services import golden_time
from analytics.services.golden_time import golden_time_compute
from analytics.services.loading import events_load
from tests.analytics.conftest import POSTGRES
from tests.factories import event_row, local_time

MONDAY = date(2026, 3, 2)


def test_counts_by_local_weekday_and_hour_and_ranks_the_top_slots(engine):
    events_load([
        event_row("order_paid", "a", local_time(MONDAY, 12, 0)),
        event_row("order_paid", "b", local_time(MONDAY, 12, 59)),
        event_row("order_paid", "c", local_time(date(2026, 3, 8), 23, 59)),  # Sunday
        event_row("order_paid", "d", local_time(date(2026, 3, 4), 18, 30)),
        event_row("order_paid", "e", local_time(date(2026, 3, 9), 0, 0)),  # after the range
        event_row("visit", "a", local_time(MONDAY, 12, 0)),
    ])

    result = golden_time_compute(event="order_paid", date_from=MONDAY, date_to=date(2026, 3, 8), engine=engine)

    assert result["event"] == "order_paid"
    assert result["total"] == 4
    assert result["matrix"][0][12] == 2
    assert result["matrix"][6][23] == 1
    assert result["matrix"][2][18] == 1
    assert sum(map(sum, result["matrix"])) == 4
    assert result["top"] == [{"weekday": 0, "hour": 12, "count": 2}, {"weekday": 2, "hour": 18, "count": 1},
                             {"weekday": 6, "hour": 23, "count": 1}]


def test_no_events_gives_an_empty_grid(engine):
    result = golden_time_compute(event="order_paid", date_from=MONDAY, date_to=MONDAY, engine=engine)

    assert result == {"event": "order_paid", "total": 0, "matrix": [[0] * 24 for _ in range(7)], "top": []}


def test_a_quarter_hour_that_straddles_two_local_hours_is_counted_event_by_event(settings, engine):
    """Shanghai kept local mean time (+08:05:43) until 1901: its quarter hours straddle local hours, so the grid is
    counted event by event there, and still lands every event in its own local hour."""
    settings.TIME_ZONE = "Asia/Shanghai"
    day = date(1900, 1, 1)  # a Monday
    # 12:02 local is 03:56:17 UTC, whose quarter hour is 11:50:43–12:05:43 local
    events_load([event_row("order_paid", "a", local_time(day, 12, 2)),
                 event_row("order_paid", "b", local_time(day, 11, 58))])

    result = golden_time_compute(event="order_paid", date_from=day, date_to=day, engine=engine)

    assert result["matrix"][0][12] == 1
    assert result["matrix"][0][11] == 1


@pytest.mark.skipif(not POSTGRES, reason="event columns are kept on PostgreSQL only")
def test_the_default_engine_reads_the_counts_then_the_event_columns_unless_the_grid_is_filtered(db, settings,
                                                                                                monkeypatch):
    seen = []
    monkeypatch.setattr(golden_time, "columns_fit", lambda **_: True)
    real_counts, real_columns, real_sql = (golden_time.event_name_hours, golden_time._quarters_columns,
                                           golden_time._quarters_sql)
    monkeypatch.setattr(golden_time, "event_name_hours", lambda *a: seen.append("counts") or real_counts(*a))
    monkeypatch.setattr(golden_time, "_quarters_columns", lambda *a: seen.append("columns") or real_columns(*a))
    monkeypatch.setattr(golden_time, "_quarters_sql", lambda *a: seen.append("sql") or real_sql(*a))

    settings.TIME_ZONE = "Asia/Shanghai"
    golden_time_compute(event="order_paid", date_from=MONDAY, date_to=MONDAY)
    golden_time_compute(event="order_paid", date_from=MONDAY, date_to=MONDAY, people=[1])
    settings.TIME_ZONE = "Asia/Kolkata"  # local midnight at :30 past a UTC hour
    golden_time_compute(event="order_paid", date_from=MONDAY, date_to=MONDAY)

    assert seen == ["counts", "sql", "columns"]
    with pytest.raises(ValueError, match="whole UTC hours"):
        golden_time_compute(event="order_paid", date_from=MONDAY, date_to=MONDAY, engine="counts")
