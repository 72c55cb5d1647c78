"""Golden operating time (运营黄金时间): when in the week an event happens, as a 7×24 grid in local time.

``matrix[d][h]`` counts the events named ``event`` stored in [D1 00:00, D2+1 00:00) local time whose local
weekday is d (0 = Monday … 6 = Sunday) and local hour is h. ``top`` lists the busiest non-empty slots,
most events first (ties: earlier in the week first).

How it counts on PostgreSQL: without a filter and over a range of whole UTC hours, from the counts per event name and
UTC hour that triggers keep (``EventCountHourly``, exact whether the days are packed or not), each hour placed in the
grid once in local time; else events are counted per UTC quarter hour — from the event columns when the range fits
them (``analytics.services.columns``, no filter), else by one ``GROUP BY`` in the database — and each quarter hour is
placed in the grid once, in local time. Every time zone's offset is a whole number of quarter hours and its changes
fall on quarter hours, so a quarter hour never straddles two local hours; a quarter hour that would (a historical
offset such as local mean time) sends the count to the exact path, which converts every event, as an hour that would
(an offset of half an hour) sends it to the quarter hours. Converting a few thousand hours or quarter hours instead of
every event (``AT TIME ZONE`` per row) is what makes the grid cheap.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from django.db import connection
from django.utils import timezone

from analytics.models import Event
from analytics.services.columns import columns_coverage, columns_fit, columns_read, consistent_read, us_2000
from analytics.services.facts import event_name_hours
from analytics.services.filters import events_restricted, restricted, where_sql
from analytics.services.periods import on_whole_utc_hours
from ops_platform.core.periods import local_range

TOP_SLOTS = 5
ENGINES = ("pandas", "counts", "sql", "columns", "sql (every event)")
_QUARTER_US = 900 * 1_000_000
# Quarter hours since 2000-01-01 UTC of 1970-01-01 UTC (946,684,800 s / 900 s).
_QUARTERS_1970_TO_2000 = 946_684_800 // 900


class _Straddles(Exception):
    """A quarter hour that starts and ends in different local hours: count event by event instead."""


def golden_time_compute(*, event: str, date_from: date, date_to: date, top: int = TOP_SLOTS,
                        engine: str | None = None, where=(), people=None, exclude_people=None) -> dict:
    """``{"event", "total", "matrix": [7 × [24 counts]], "top": [{"weekday", "hour", "count"}]}``."""
    start, end = local_range(date_from, date_to)
    restriction = {"where": tuple(where), "people": people, "exclude_people": exclude_people}
    engine = engine or _default_engine(event, start, end, restricted(**restriction))
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    zone = timezone.get_current_timezone_name()
    matrix = None
    if engine == "counts":
        if restricted(**restriction) or not on_whole_utc_hours(start, end):
            raise ValueError("the counts per hour answer an unfiltered grid over whole UTC hours only")
        hours, counts = event_name_hours(event, start, end)
        try:
            matrix = _grid_of_quarters(hours // _QUARTER_US, counts, zone, span=4)
        except _Straddles:
            engine = "sql"
    if engine in ("columns", "sql"):
        quarters, counts = (_quarters_columns(event, start, end) if engine == "columns"
                            else _quarters_sql(event, start, end, restriction))
        try:
            matrix = _grid_of_quarters(quarters, counts, zone)
        except _Straddles:
            engine = "sql (every event)"
    if engine == "sql (every event)":
        matrix = _grid_sql_every_event(event, start, end, restriction, zone)
    elif engine == "pandas":
        rows = events_restricted(Event.objects.filter(event=event, timestamp__gte=start, timestamp__lt=end),
                                 **restriction)
        stamps = pd.to_datetime(pd.Series(list(rows.values_list("timestamp", flat=True)), dtype="object"), utc=True)
        matrix = np.zeros((7, 24), dtype="int64")
        if len(stamps):
            local = stamps.dt.tz_convert(zone)
            np.add.at(matrix, (local.dt.day_of_week.to_numpy(), local.dt.hour.to_numpy()), 1)
    flat = matrix.ravel()
    order = np.lexsort((np.arange(flat.size), -flat))
    slots = [{"weekday": int(i // 24), "hour": int(i % 24), "count": int(flat[i])} for i in order[:top] if flat[i]]
    return {"event": event, "total": int(flat.sum()), "matrix": matrix.tolist(), "top": slots}


def _default_engine(event, start, end, is_restricted: bool) -> str:
    """pandas off PostgreSQL; there, the counts per name and hour for an unfiltered grid over whole UTC hours, the event
    columns unless the grid is filtered or the range does not fit them (``columns_fit``), then the database."""
    if connection.vendor != "postgresql":
        return "pandas"
    if not is_restricted and on_whole_utc_hours(start, end):
        return "counts"
    if not is_restricted and columns_fit(lo=start, hi=end, names=[event]):
        return "columns"
    return "sql"


def _quarters_columns(event: str, start, end) -> tuple[np.ndarray, np.ndarray]:
    """Quarter hours since 2000 UTC and their event counts, from the event columns of [start, end)."""
    with consistent_read():
        times = columns_read(names=[event], coverage=columns_coverage(lo=start, hi=end), persons=False)[event].times
    quarters = times[(times >= us_2000(start)) & (times < us_2000(end))] // _QUARTER_US
    if not len(quarters):
        return quarters, quarters
    first = int(quarters.min())
    counts = np.bincount(quarters - first)  # a range's quarter hours: ~100 a day, so no sort
    present = np.flatnonzero(counts)
    return present + first, counts[present]


def _quarters_sql(event: str, start, end, restriction: dict) -> tuple[np.ndarray, np.ndarray]:
    condition, params = where_sql(**restriction)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT floor(date_part('epoch', timestamp) / 900)::bigint AS q, count(*) FROM analytics_event"  # noqa: S608
            f" WHERE event = %s AND timestamp >= %s AND timestamp < %s AND {condition} GROUP BY q",
            [event, start, end, *params],
        )
        rows = cursor.fetchall()
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    quarters, counts = (np.array(column, dtype="int64") for column in zip(*rows, strict=True))
    return quarters - _QUARTERS_1970_TO_2000, counts


def _grid_of_quarters(quarters: np.ndarray, counts: np.ndarray, zone: str, *, span: int = 1) -> np.ndarray:
    """The 7×24 grid of the counts per ``span`` quarter hours starting at ``quarters`` (since 2000 UTC), each placed by
    its local start."""
    matrix = np.zeros((7, 24), dtype="int64")
    if not len(quarters):
        return matrix
    base = pd.Timestamp("2000-01-01", tz="UTC")
    first = (base + pd.to_timedelta(quarters * 15, unit="min")).tz_convert(zone)
    last = (base + pd.to_timedelta((quarters + span) * 15, unit="min") - pd.Timedelta(microseconds=1)).tz_convert(zone)
    weekday, hour = first.day_of_week.to_numpy(), first.hour.to_numpy()
    if not ((last.day_of_week.to_numpy() == weekday) & (last.hour.to_numpy() == hour)).all():
        raise _Straddles
    np.add.at(matrix, (weekday, hour), counts)
    return matrix


def _grid_sql_every_event(event: str, start, end, restriction: dict, zone: str) -> np.ndarray:
    """Each event converted to local time in the database: exact for any offset, and slow (~µs an event)."""
    matrix = np.zeros((7, 24), dtype="int64")
    condition, params = where_sql(**restriction)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(isodow FROM l)::int - 1, extract(hour FROM l)::int, count(*) FROM ("  # noqa: S608
            " SELECT timestamp AT TIME ZONE %s AS l FROM analytics_event"
            f" WHERE event = %s AND timestamp >= %s AND timestamp < %s AND {condition}) AS e GROUP BY 1, 2",
            [zone, event, start, end, *params],
        )
        cells = cursor.fetchall()
    if cells:
        weekday, hour, count = (np.array(column, dtype="int64") for column in zip(*cells, strict=True))
        matrix[weekday, hour] = count
    return matrix
