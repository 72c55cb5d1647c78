"""Brute-force references for the report filters, trends and stickiness (DESIGN.md, analytics/services/filters.py,
trends.py, stickiness.py). Pure Python over plain events, slow and simple on purpose."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class PEv:
    person: str
    event: str
    ts: datetime  # aware
    props: dict = field(default_factory=dict)


def text_of(props: dict, key: str) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def number_of(props: dict, key: str) -> float | None:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def passes(props: dict, item: tuple) -> bool:
    """``item`` = (key, op, value): value a str, a list of str (in / not_in), a float (gt…lte) or None."""
    key, op, value = item
    text, number = text_of(props, key), number_of(props, key)
    if op == "eq":
        return text == value
    if op == "neq":
        return text != value
    if op == "in":
        return text in value
    if op == "not_in":
        return text not in value
    if op == "contains":
        return text is not None and value in text
    if op in ("gt", "gte", "lt", "lte"):
        if number is None:
            return False
        return {"gt": number > value, "gte": number >= value, "lt": number < value, "lte": number <= value}[op]
    if op == "is_set":
        return text is not None
    return text is None


def where_param(item: tuple) -> str:
    key, op, value = item
    if op in ("is_set", "is_not_set"):
        return f"properties.{key}:{op}"
    if isinstance(value, list):
        return f"properties.{key}:{op}:" + "|".join(value)
    if isinstance(value, float):
        return f"properties.{key}:{op}:{value!r}"
    return f"properties.{key}:{op}:{value}"


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def period_first(day: date, interval: str) -> date:
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_next(first: date, interval: str) -> date:
    if interval == "day":
        return first + timedelta(days=1)
    if interval == "week":
        return first + timedelta(days=7)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def _measure(events: list[PEv], measure: str, prop: str | None):
    if measure == "total":
        return len(events)
    if measure == "unique":
        return len({ev.person for ev in events})
    numbers = [n for n in (number_of(ev.props, prop) for ev in events) if n is not None]
    if measure == "sum":
        return sum(numbers)
    if not numbers:
        return None
    return statistics.fmean(numbers) if measure == "avg" else statistics.median(numbers)


def _value_of(ev: PEv, key: str) -> str:
    text = text_of(ev.props, key)
    return "(none)" if text in (None, "") else text


def trends_refused(events: list[PEv], *, event: str, prop: str | None, date_from: date, date_to: date, tz: str,
                   where=(), people=None) -> bool:
    """A sum, mean or median of ``prop`` is refused when the range holds events (after the filters) and none of them
    has a number in it."""
    if prop is None:
        return False
    zone = ZoneInfo(tz)
    start, end = _midnight(date_from, zone), _midnight(date_to + timedelta(days=1), zone)
    chosen = [ev for ev in events if ev.event == event and start <= ev.ts < end
              and all(passes(ev.props, item) for item in where) and (people is None or ev.person in people)]
    return bool(chosen) and all(number_of(ev.props, prop) is None for ev in chosen)


def trends(events: list[PEv], *, event: str, measure: str, prop: str | None, interval: str, date_from: date,
           date_to: date, tz: str, breakdown: str | None = None, limit: int = 10, where=(), compare=False,
           people=None) -> list[dict]:
    """The series, as trends_compute gives them (values as floats or None)."""
    zone = ZoneInfo(tz)
    today = datetime.now(zone).date()

    def run(first_day: date, last_day: date, keep):
        start, end = _midnight(first_day, zone), _midnight(last_day + timedelta(days=1), zone)
        chosen = [ev for ev in events if ev.event == event and start <= ev.ts < end
                  and all(passes(ev.props, item) for item in where) and (people is None or ev.person in people)]
        periods = []
        first = period_first(first_day, interval)
        while first <= last_day:
            periods.append(first)
            first = period_next(first, interval)

        def period_of(ev):
            return period_first(ev.ts.astimezone(zone).date(), interval)

        groups: dict = defaultdict(list)
        other = False
        if breakdown is None:
            groups[None] = chosen
            keys = [None]
        else:
            if keep is None:
                by_value = defaultdict(list)
                for ev in chosen:
                    by_value[_value_of(ev, breakdown)].append(ev)
                ranked = sorted(by_value, key=lambda v: (_measure(by_value[v], measure, prop) is None,
                                                         -(_measure(by_value[v], measure, prop) or 0), v))
                keep = ranked[:limit]
                other = len(ranked) > limit
            for ev in chosen:
                value = _value_of(ev, breakdown)
                groups[value if value in keep else "(other)"].append(ev)
            if "(other)" in groups:
                other = True
            keys = [*keep, *(["(other)"] if other else [])]
        series = []
        for key in keys:
            points = []
            for first in periods:
                inside = [ev for ev in groups.get(key, []) if period_of(ev) == first]
                last = period_next(first, interval) - timedelta(days=1)
                started = max(first, first_day) <= today  # a period not started has no value (not 0)
                points.append({"period": first.isoformat(),
                               "value": _measure(inside, measure, prop) if started else None,
                               "complete": last < today, "cut": first < first_day or last > last_day})
            series.append({"key": key, "points": points})
        return series, keep

    current, keep = run(date_from, date_to, None)
    result = [dict(s, compare=False) for s in current]
    if compare:
        days = (date_to - date_from).days + 1
        previous, _keep = run(date_from - timedelta(days=days), date_from - timedelta(days=1), keep)
        result += [dict(s, compare=True) for s in previous]
    return result


def stickiness(events: list[PEv], *, event: str, date_from: date, date_to: date, tz: str, where=(),
               people=None) -> dict:
    zone = ZoneInfo(tz)
    today = datetime.now(zone).date()
    active: dict[date, set] = defaultdict(set)
    for ev in events:
        if ev.event == event and all(passes(ev.props, item) for item in where) and (people is None
                                                                                   or ev.person in people):
            active[ev.ts.astimezone(zone).date()].add(ev.person)

    def within(last: date, days: int) -> set:
        people_set = set()
        for k in range(days):
            people_set |= active.get(last - timedelta(days=k), set())
        return people_set

    rows = []
    day = date_from
    while day <= date_to:
        dau, wau, mau = len(active.get(day, set())), len(within(day, 7)), len(within(day, 30))
        if day > today:  # not started: no value
            rows.append({"date": day.isoformat(), "dau": None, "wau": None, "mau": None, "dau_mau": None,
                         "complete": False})
        else:
            rows.append({"date": day.isoformat(), "dau": dau, "wau": wau, "mau": mau,
                         "dau_mau": dau / mau if mau else None, "complete": day < today})
        day += timedelta(days=1)
    through = min(date_to, today - timedelta(days=1))  # complete days only
    if through < date_from:
        return {"days": rows, "active_days_through": None, "active_days_7": None, "active_days_30": None}

    def distribution(days: int) -> list[dict]:
        counts = defaultdict(int)
        for person in within(through, days):
            counts[sum(person in active.get(through - timedelta(days=k), set()) for k in range(days))] += 1
        return [{"days": k, "customers": counts.get(k, 0)} for k in range(1, days + 1)]

    return {"days": rows, "active_days_through": through.isoformat(), "active_days_7": distribution(7),
            "active_days_30": distribution(30)}
