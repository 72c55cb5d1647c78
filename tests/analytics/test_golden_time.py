from __future__ import annotations

from datetime import date

from analytics.services.golden_time import golden_time_compute
from analytics.services.loading import events_load
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
