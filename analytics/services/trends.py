"""Trends: an event's measure per day, week or month, optionally broken down by a property (DESIGN.md).

Semantics ("Metric semantics"), for event E, local dates D1…D2 and interval I (weeks from Monday, in TIME_ZONE):

- the periods are those of I that overlap D1…D2, each named by its first day; only events in [D1 00:00, D2+1 00:00)
  count, so the first and last period may be **cut** by the range (``cut`` on the point);
- ``total`` = E events in the period; ``unique`` = distinct customers with E in it; ``sum`` / ``avg`` / ``median`` =
  of the JSON-number values of property P over those events (others are left out; ``sum`` of none is 0, ``avg`` and
  ``median`` of none are null; the median of an even count is the mean of the two middle values);
- ``complete`` = the period has ended by now (the period holding today is not);
- ``where`` filters apply to every event read (analytics/services/filters.py); ``people`` / ``exclude_people``
  (lazy subqueries of person ids: a segment's members) restrict them to or away from a set of customers;
- ``breakdown=K``: each event's value is the text of its property K, ``"(none)"`` when missing, null or empty. The
  ``breakdown_limit`` values with the largest measure over the whole range (ties: the smaller value first, by code
  point; a value whose measure is null last) get a series each, in that order; every other value is summed into
  one ``"(other)"`` series, computed as one group (its ``unique`` counts a customer once, its median is of all its
  events), present only when there are such values;
- ``compare``: the same series over the previous range of the same number of days (D1−n … D1−1), marked
  ``"compare": true``, after the current ones, with the current range's breakdown values.

Four engines answer identically: on PostgreSQL a ``total`` with nothing to filter (no ``where``, breakdown or
customers) is read from the counts per event name and UTC hour that triggers keep (``EventCountHourly``: exact on every
write, packed days or not; periods that start on a whole UTC hour), anything else from the event columns
(analytics/services/columns.py: the event's times, persons and the properties the query names, dictionary-encoded;
filters decided once per distinct value, periods by ``searchsorted`` over the local period starts, measures by
``bincount``), SQL on PostgreSQL when the range does not fit the columns (one grouped statement per range, periods
found by ``width_bucket``, no per-row time-zone conversion), and pandas over the same filtered rows (SQLite). The
brute-force reference in tests/analytics holds all four.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils.translation import gettext as _

from analytics.models import Event
from analytics.services.columns import columns_coverage, columns_fit, columns_read, consistent_read, us_2000
from analytics.services.facts import event_name_hours
from analytics.services.filters import (
    NONE_VALUE,
    OTHER_VALUE,
    JsonNumber,
    JsonText,
    PropertyFilter,
    breakdown_labels,
    events_where,
    restricted_mask,
    top_codes,
    top_values,
    where_keys,
    where_number_keys,
)
from analytics.services.funnel import WORK_MEM
from analytics.services.periods import epoch_us, moment_us, on_whole_utc_hours
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.periods import local_day_start, local_today, period_end, period_is_complete, period_starts

MEASURES = ("total", "unique", "sum", "avg", "median")
VALUE_MEASURES = ("sum", "avg", "median")  # need a numeric property
INTERVALS = ("day", "week", "month")
DEFAULT_BREAKDOWN_LIMIT = 10
MAX_BREAKDOWN_LIMIT = 25


def trends_compute(*, event: str, measure: str = "total", property: str | None = None, interval: str = "day",
                   date_from: date, date_to: date, breakdown: str | None = None,
                   breakdown_limit: int = DEFAULT_BREAKDOWN_LIMIT, where: Sequence[PropertyFilter] = (),
                   compare: bool = False, people=None, exclude_people=None, engine: str | None = None) -> dict:
    """``{"interval", "series": [{"label", "event", "measure", "breakdown_value"?, "points": [...]}]}`` (DESIGN.md)."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}")
    if measure in VALUE_MEASURES and not property:
        raise ValueError(f"measure {measure!r} needs a property")
    if not 1 <= breakdown_limit <= MAX_BREAKDOWN_LIMIT:
        raise ValueError("breakdown_limit is 1…25")
    spec = _Spec(event=event, measure=measure, property=property if measure in VALUE_MEASURES else None,
                 interval=interval, breakdown=breakdown, where=tuple(where), people=people,
                 exclude_people=exclude_people)
    engine = engine or _default_engine(spec, date_from, date_to, compare=compare)
    run = {"sql": _run_sql, "pandas": _run_pandas, "columns": _run_columns, "counts": _run_counts}[engine]
    current = run(spec, date_from, date_to, breakdown_limit, keep=None)
    if spec.property and _looks_empty(current) and _events_without_numbers(spec, date_from, date_to):
        message = _("No %(event)s event in this range has a number in “%(property)s”: choose a numeric property, "
                    "such as amount.") % {"event": event, "property": spec.property}
        raise ApplicationError(message, errors={"property": [message]})
    result = {"interval": interval, "event": event, "measure": measure, "property": spec.property,
              "breakdown": breakdown, "date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
              "series": _series(spec, current, date_from, date_to, compare=False)}
    if compare:
        days = (date_to - date_from).days + 1
        previous_to = date_from - timedelta(days=1)
        previous_from = previous_to - timedelta(days=days - 1)
        previous = run(spec, previous_from, previous_to, breakdown_limit, keep=current.values)
        result["compare_from"], result["compare_to"] = previous_from.isoformat(), previous_to.isoformat()
        result["series"] += _series(spec, previous, previous_from, previous_to, compare=True)
    return result


def _looks_empty(result: _Result) -> bool:
    """Every value of a sum, mean or median is 0 or none (None or NaN, by engine): maybe no event had a number in the
    property."""
    return all(value is None or value == 0 or value != value for values in result.groups.values()
               for value in values.values())


def _events_without_numbers(spec: _Spec, date_from: date, date_to: date) -> bool:
    """The range has events of ``spec`` (its filters and customers) and none has a JSON number in the property: a
    text such as merchant_id, which a sum would read as 0 and a mean as none. Asked only of an answer that looks
    empty (``_looks_empty``): a real one stops at the first number."""
    rows = spec.rows(date_from, date_to)
    return rows.exists() and not rows.filter(x__isnull=False).exists()


class _Spec:
    def __init__(self, *, event, measure, property, interval, breakdown, where, people, exclude_people):
        self.event, self.measure, self.property, self.interval = event, measure, property, interval
        self.breakdown, self.where, self.people, self.exclude_people = breakdown, where, people, exclude_people

    def rows(self, date_from: date, date_to: date):
        """The events read, as a values queryset: timestamp, person_id, and ``v`` (breakdown text) and ``x`` (the
        numeric property) when asked."""
        events = Event.objects.filter(event=self.event, timestamp__gte=local_day_start(date_from),
                                      timestamp__lt=local_day_start(date_to + timedelta(days=1)))
        events = events_where(events, self.where)
        if self.people is not None:
            events = events.filter(person_id__in=self.people)
        if self.exclude_people is not None:
            events = events.exclude(person_id__in=self.exclude_people)
        fields = ["timestamp", "person_id"]
        annotations = {}
        if self.breakdown:
            annotations["v"] = JsonText(self.breakdown)
            fields.append("v")
        if self.property:
            annotations["x"] = JsonNumber(self.property)
            fields.append("x")
        return events.annotate(**annotations).order_by().values(*fields)


class _Result:
    """Per group (None without a breakdown, else a value or ``(other)``): {period index: value}; ``values``: the
    kept breakdown values in order (None without a breakdown); ``other``: whether an "(other)" group exists."""

    def __init__(self, groups: dict, values: list[str] | None, other: bool):
        self.groups, self.values, self.other = groups, values, other


def _periods(date_from: date, date_to: date, interval: str) -> list[date]:
    return period_starts(date_from, date_to, interval)


def _series(spec: _Spec, result: _Result, date_from: date, date_to: date, *, compare: bool) -> list[dict]:
    periods = _periods(date_from, date_to, spec.interval)
    empty = None if spec.measure in ("avg", "median") else 0
    today = local_today()
    points_of = []
    keys = [None] if result.values is None else [*result.values, *([OTHER_VALUE] if result.other else [])]
    series = []
    for key in keys:
        values = result.groups.get(key, {})
        points = []
        for index, first in enumerate(periods):
            # A period not started yet (its first day in the range is after today) has no value: not 0.
            value = values.get(index, empty) if max(first, date_from) <= today else None
            points.append({"period": first.isoformat(), "value": _number(value),
                           "complete": period_is_complete(first, spec.interval),
                           "cut": first < date_from or period_end(first, spec.interval) > date_to})
        points_of.append(points)
        label = spec.event if spec.measure == "total" else (
            f"{spec.event} · {spec.measure}" + (f"({spec.property})" if spec.property else ""))
        row = {"label": key if key is not None else label, "event": spec.event, "measure": spec.measure}
        if spec.property:
            row["property"] = spec.property
        if key is not None:
            row["breakdown_value"] = key
        if compare:
            row["compare"] = True
        row["points"] = points
        series.append(row)
    return series


VALUE_DECIMALS = 6  # as the funnel's values: a sum of 0.1s reads 336639.73, not 336639.7300000013


def _number(value):
    if value is None:
        return None
    value = float(value)
    if np.isnan(value):
        return None
    value = round(value, VALUE_DECIMALS)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


# PostgreSQL: the filtered events as a subquery (the ORM's SQL, so filters and segments compile in one place), grouped
# by period (width_bucket over the local starts) and breakdown value.

_MEASURE_SQL = {
    "total": "count(*)",
    "unique": "count(DISTINCT e.person_id)",
    "sum": "coalesce(sum(e.x), 0)",
    "avg": "avg(e.x)",
    "median": "percentile_cont(0.5) WITHIN GROUP (ORDER BY e.x)",
}
_VALUE_SQL = "coalesce(nullif(e.v, ''), %s)"


def _bounds(date_from: date, date_to: date, interval: str) -> list:
    """The aware start of each period, the first one cut to the range's start: ``width_bucket`` gives 1…n."""
    starts = _periods(date_from, date_to, interval)
    return [local_day_start(max(first, date_from)) for first in starts]


def _run_sql(spec: _Spec, date_from: date, date_to: date, limit: int, *, keep: list[str] | None) -> _Result:
    inner, inner_params = spec.rows(date_from, date_to).query.sql_with_params()
    measure = _MEASURE_SQL[spec.measure]
    bounds = _bounds(date_from, date_to, spec.interval)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)", [WORK_MEM])
        if not spec.breakdown:
            cursor.execute(
                f"SELECT width_bucket(e.timestamp, %s::timestamptz[]) - 1, {measure} FROM ({inner}) AS e "  # noqa: S608
                "GROUP BY 1", [bounds, *inner_params])
            return _Result({None: dict(cursor.fetchall())}, None, False)
        if keep is None:  # rank the values over the whole range
            cursor.execute(
                f"SELECT b, m FROM (SELECT {_VALUE_SQL} AS b, {measure} AS m FROM ({inner}) AS e GROUP BY 1) AS r "  # noqa: S608
                'ORDER BY m DESC NULLS LAST, b COLLATE "C" LIMIT %s', [NONE_VALUE, *inner_params, limit + 1])
            ranked = [row[0] for row in cursor.fetchall()]
            keep, other = ranked[:limit], len(ranked) > limit
        else:
            other = None  # decided by the rows
        cursor.execute(
            f"SELECT p, g, {measure} FROM (SELECT width_bucket(e.timestamp, %s::timestamptz[]) - 1 AS p, "  # noqa: S608
            f"CASE WHEN {_VALUE_SQL} = ANY(%s) THEN {_VALUE_SQL} ELSE %s END AS g, e.person_id, "
            f"{'e.x' if spec.property else 'NULL::float8 AS x'} FROM ({inner}) AS e) AS e GROUP BY 1, 2",
            [bounds, NONE_VALUE, keep, NONE_VALUE, OTHER_VALUE, *inner_params])
        rows = cursor.fetchall()
    groups: dict = {}
    for period, group, value in rows:
        groups.setdefault(group, {})[period] = value
    if other is None:
        other = OTHER_VALUE in groups
    return _Result(groups, list(keep), other)


# pandas: the same rows read into a frame (SQLite, and the second engine the tests hold against the reference).


def _aggregate(frame: pd.DataFrame, by: list[str], measure: str) -> pd.Series:
    grouped = frame.groupby(by, sort=False)
    if measure == "total":
        return grouped.size()
    if measure == "unique":
        return grouped["person_id"].nunique()
    if measure == "sum":
        return grouped["x"].sum(min_count=0)
    if measure == "avg":
        return grouped["x"].mean()
    return grouped["x"].median()


def _run_pandas(spec: _Spec, date_from: date, date_to: date, limit: int, *, keep: list[str] | None) -> _Result:
    fields = ["timestamp", "person_id"] + (["v"] if spec.breakdown else []) + (["x"] if spec.property else [])
    frame = pd.DataFrame.from_records(list(spec.rows(date_from, date_to).values_list(*fields)), columns=fields)
    bounds = np.array([moment_us(moment) for moment in _bounds(date_from, date_to, spec.interval)], np.int64)
    frame["p"] = np.searchsorted(bounds, epoch_us(frame["timestamp"]).to_numpy(np.int64), side="right") - 1 \
        if len(frame) else pd.Series([], dtype="int64")
    if spec.property:
        frame["x"] = pd.to_numeric(frame["x"], errors="coerce").astype("float64")
    if not spec.breakdown:
        return _Result({None: _aggregate(frame, ["p"], spec.measure).to_dict() if len(frame) else {}}, None, False)
    frame["v"] = frame["v"].map(lambda value: NONE_VALUE if value is None or value == "" or pd.isna(value)
                                else str(value)).astype(object)
    other = None
    if keep is None:
        keep, other = top_values(_aggregate(frame, ["v"], spec.measure).to_dict() if len(frame) else {}, limit)
    frame["g"] = frame["v"].where(frame["v"].isin(keep), OTHER_VALUE)
    groups: dict = {}
    if len(frame):
        for (period, group), value in _aggregate(frame, ["p", "g"], spec.measure).items():
            groups.setdefault(group, {})[int(period)] = value
    if other is None:
        other = OTHER_VALUE in groups
    return _Result(groups, keep, other)


# The counts per event name and UTC hour (``EventCountHourly``, kept by triggers on PostgreSQL): a total with nothing to
# filter, over periods that start on whole UTC hours (every time zone but a few with half- or quarter-hour offsets).


def _counts_fit(spec: _Spec, date_from: date, date_to: date) -> bool:
    """Whether the counts answer ``spec`` exactly over the local days ``date_from``…``date_to``: PostgreSQL, the
    ``total`` of all the event's events (no filter, breakdown or customers), every local day starting on a UTC hour."""
    if connection.vendor != "postgresql" or spec.measure != "total" or spec.where or spec.breakdown:
        return False
    if spec.people is not None or spec.exclude_people is not None:
        return False
    days = (date_to - date_from).days + 2
    return on_whole_utc_hours(*(local_day_start(date_from + timedelta(days=offset)) for offset in range(days)))


def _run_counts(spec: _Spec, date_from: date, date_to: date, limit: int, *, keep: list[str] | None) -> _Result:
    if not _counts_fit(spec, date_from, date_to):
        raise ValueError("the counts per hour answer a total without filters on whole-hour periods only")
    bounds = _bounds(date_from, date_to, spec.interval)
    hours, counts = event_name_hours(spec.event, bounds[0], local_day_start(date_to + timedelta(days=1)))
    period = np.searchsorted(np.array([us_2000(moment) for moment in bounds], np.int64), hours, side="right") - 1
    totals = np.bincount(period, weights=counts, minlength=len(bounds)) if len(hours) else np.zeros(len(bounds))
    return _Result({None: {int(p): int(totals[p]) for p in np.flatnonzero(totals)}}, None, False)


# The event columns: the event's times (and persons when counted or restricted) with the properties the query names.


def _default_engine(spec: _Spec, date_from: date, date_to: date, *, compare: bool) -> str:
    """pandas off PostgreSQL; there, the counts per name and hour when they answer (``_counts_fit``), else the
    columns when the range (and the compared one) fits them (``columns_fit``), else SQL."""
    if connection.vendor != "postgresql":
        return "pandas"
    first = date_from - timedelta(days=(date_to - date_from).days + 1) if compare else date_from
    if _counts_fit(spec, first, date_to):
        return "counts"
    fits = columns_fit(lo=local_day_start(first), hi=local_day_start(date_to + timedelta(days=1)), names=[spec.event])
    return "columns" if fits else "sql"


def _measure_by(keys: np.ndarray, count: int, spec: _Spec, persons: np.ndarray, x: np.ndarray | None) -> dict:
    """The measure per group key (0…count−1) over the events keyed ``keys``: only keys with an event appear."""
    present, values = _measure_array(keys, count, spec, persons, x)
    return {int(key): (None if np.isnan(values[key]) else float(values[key])) for key in np.flatnonzero(present)}


def _measure_array(keys: np.ndarray, count: int, spec: _Spec, persons: np.ndarray,
                   x: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per group key (0…count−1): its number of events, and its measure (NaN: none)."""
    present = np.bincount(keys, minlength=count)
    if spec.measure == "total":
        values = present.astype(np.float64)
    elif spec.measure == "unique":
        # Distinct (key, person) pairs by a sort (numpy's hashed unique: 10× slower), of int32 when they fit
        # (persons counted from the smallest id): a third of int64's time.
        base = int(persons.min()) if len(persons) else 0
        span = int(persons.max(initial=0)) - base + 1
        pairs = keys.astype(np.int64) * span + (persons - base)
        pairs = np.sort(pairs.astype(np.int32) if count * span < 2**31 else pairs)
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if len(pairs) else pairs
        values = np.bincount(pairs // span, minlength=count).astype(np.float64)
    else:
        valid = ~np.isnan(x)
        if spec.measure == "sum":  # one pass: a missing number adds 0
            return present, np.bincount(keys, weights=np.where(valid, x, 0.0), minlength=count)
        sums = np.bincount(keys[valid], weights=x[valid], minlength=count)
        counted = np.bincount(keys[valid], minlength=count)
        if spec.measure == "avg":
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.where(counted > 0, sums / np.maximum(counted, 1), np.nan)
        else:
            values = np.full(count, np.nan)
            if valid.any():
                medians = pd.Series(x[valid]).groupby(keys[valid]).median()
                values[medians.index.to_numpy()] = medians.to_numpy()
    return present, values


def _run_columns(spec: _Spec, date_from: date, date_to: date, limit: int, *, keep: list[str] | None) -> _Result:
    lo, hi = local_day_start(date_from), local_day_start(date_to + timedelta(days=1))
    keys = [*where_keys(spec.where), *([spec.breakdown] if spec.breakdown else [])]
    restricted_people = spec.people is not None or spec.exclude_people is not None
    with consistent_read():
        events = columns_read(names=[spec.event], coverage=columns_coverage(lo=lo, hi=hi),
                              persons=spec.measure == "unique" or restricted_people,
                              properties={spec.event: keys},
                              numbers={spec.event: [*where_number_keys(spec.where),
                                                    *([spec.property] if spec.property else [])]})[spec.event]
    mask = restricted_mask(events, where=spec.where, people=spec.people, exclude_people=spec.exclude_people)
    if not mask.all():
        events = events.where(mask)
    bounds = np.array([us_2000(moment) for moment in _bounds(date_from, date_to, spec.interval)], np.int64)
    period = np.searchsorted(bounds, events.times, side="right") - 1
    persons = events.persons if spec.measure == "unique" else None
    x = events.properties[spec.property].values() if spec.property else None
    periods = len(bounds)
    if not spec.breakdown:
        return _Result({None: _measure_by(period, periods, spec, persons, x)}, None, False)
    column = events.properties[spec.breakdown]
    entry_value, values = breakdown_labels(column.texts)
    value = entry_value[column.codes]
    other = None
    if keep is None:  # rank the values over the whole range (values are sorted: codes rank ties as texts do)
        present, measures = _measure_array(value, len(values), spec, persons, x)
        codes, other = top_codes(measures, present > 0, limit)
        keep = [values[code] for code in codes]
    groups_of = {name: index for index, name in enumerate(keep)}
    group_of_value = np.array([groups_of.get(name, len(keep)) for name in values], np.int64)  # len(keep): other
    group = group_of_value[value] if len(values) else np.zeros(0, np.int64)
    measured = _measure_by(group * periods + period, (len(keep) + 1) * periods, spec, persons, x)
    groups: dict = {}
    for key, measure in measured.items():
        name = keep[key // periods] if key // periods < len(keep) else OTHER_VALUE
        groups.setdefault(name, {})[key % periods] = measure
    if other is None:
        other = OTHER_VALUE in groups
    return _Result(groups, list(keep), other)
