"""Brute-force, obviously-correct references for the funnel, retention and golden-time semantics (DESIGN.md).

Pure Python over a list of plain events, one customer at a time: slow and simple on purpose. The engine is
held against these on random event sets (test_engine_properties.py).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Ev:
    id: int  # storage order: breaks ties between entry events
    person: str
    event: str
    ts: datetime  # aware
    channel: str = ""
    props: dict = field(default_factory=dict, compare=False)


def _text(props: dict, key: str) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _number(props: dict, key: str) -> float | None:
    value = props.get(key)
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _by_person(events: list[Ev]) -> dict[str, list[Ev]]:
    people: dict[str, list[Ev]] = defaultdict(list)
    for ev in events:
        people[ev.person].append(ev)
    return people


def funnel(events: list[Ev], steps: list[str], window_days: int, date_from: date, date_to: date, tz: str,
           breakdown: bool = False, *, breakdown_key: str | None = None, limit: int = 10,
           step_windows: tuple = (), exclusions: tuple = (), value_property: str | None = None,
           now: datetime, closed_only: bool = False) -> dict:
    """README's funnel rules, one customer at a time. ``breakdown``: by channel; ``breakdown_key``: by that property
    of the entry event. ``step_windows``: seconds or None per step after the first; ``exclusions``: (event, a, b),
    0-based steps. ``now``: the instant it is read at (an entrant's window is open while entry + W×24 h > now);
    ``closed_only``: only the customers whose entry (their earliest in the range) has a closed window."""
    zone = ZoneInfo(tz)
    start, end = _midnight(date_from, zone), _midnight(date_to + timedelta(days=1), zone)
    window = timedelta(days=window_days)
    paths = []  # (breakdown value, [matched events], window still open)
    for person_events in _by_person(events).values():
        entries = [ev for ev in person_events if ev.event == steps[0] and start <= ev.ts < end]
        if not entries:
            continue
        entry = min(entries, key=lambda ev: (ev.ts, ev.id))
        still_open = entry.ts.astimezone(UTC) + window > now  # W×24 h, also across a DST change
        if closed_only and still_open:
            continue
        deadline = entry.ts.astimezone(UTC) + timedelta(days=window_days)  # W×24 h, also across a DST change
        matched = [entry]
        for k, step in enumerate(steps[1:], start=1):
            limit_k = deadline
            seconds = step_windows[k - 1] if k - 1 < len(step_windows) else None
            if seconds is not None:
                limit_k = min(deadline, matched[-1].ts.astimezone(UTC) + timedelta(seconds=seconds))
            later = [ev for ev in person_events if ev.event == step and matched[-1].ts < ev.ts <= limit_k]
            if not later:
                break
            matched.append(min(later, key=lambda ev: (ev.ts, ev.id)))
        cut = len(steps)
        for name, a, b in exclusions:
            if len(matched) <= a:
                continue
            low = matched[a].ts
            if len(matched) > b:
                hit = any(ev.event == name and low < ev.ts < matched[b].ts for ev in person_events)
            else:
                hit = any(ev.event == name and low < ev.ts <= deadline for ev in person_events)
            if hit:
                cut = min(cut, a + 1)
        matched = matched[:cut]
        value = (_text(entry.props, breakdown_key) if breakdown_key else entry.channel) or "(none)"
        paths.append((value, matched, still_open))
    closed_before = now.astimezone(UTC) - window
    result = {"steps": _steps(paths, steps, value_property), "window": {
        "days": window_days, "as_of": now.astimezone(UTC).isoformat(), "closed_before": closed_before.isoformat(),
        "closed_only": closed_only, "entrants_open": sum(1 for path in paths if path[2]),
        "complete": end.astimezone(UTC) - timedelta(microseconds=1) + window <= now}}
    if breakdown or breakdown_key:
        entrants = defaultdict(int)
        for value, *_rest in paths:
            entrants[value] += 1
        ranked = sorted(entrants, key=lambda value: (-entrants[value], value))
        keep = ranked[:limit]
        groups = [(value, [p for p in paths if p[0] == value]) for value in keep]
        if len(ranked) > limit:
            groups.append(("(other)", [p for p in paths if p[0] not in keep]))
        result["breakdown"] = [{"value": value, "steps": _steps(group, steps, value_property),
                                "entrants_window_open": sum(1 for path in group if path[2])}
                               for value, group in groups]
    return result


def _rounded(value: float | None):
    if value is None:
        return None
    value = round(value, 6)
    return int(value) if value.is_integer() else value


def _steps(paths, steps, value_property=None) -> list[dict]:
    counts = [sum(1 for _, matched, *_rest in paths if len(matched) > k) for k in range(len(steps))]
    out = []
    for k, name in enumerate(steps):
        deltas = [(m[k].ts - m[k - 1].ts).total_seconds() for _, m, *_rest in paths if k and len(m) > k]
        row = {
            "event": name,
            "count": counts[k],
            "conversion_from_previous": (counts[k] / counts[k - 1] if k else 1.0) if counts[max(k - 1, 0)] else 0.0,
            "conversion_from_first": counts[k] / counts[0] if counts[0] else 0.0,
            "median_seconds_to_convert": round(statistics.median(deltas), 3) if deltas else None,
            "avg_seconds_to_convert": round(statistics.fmean(deltas), 3) if deltas else None,
        }
        if value_property:
            values = [_number(m[k].props, value_property) for _, m, *_rest in paths if len(m) > k]
            values = [value for value in values if value is not None]
            row["value_sum"] = _rounded(sum(values)) if values else 0
            row["value_avg"] = _rounded(sum(values) / len(values)) if values else None
        out.append(row)
    return out


def _period_start(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _period_index(first: date, later: date, period: str) -> int:
    """How many periods ``later``'s period is after ``first``'s (both first days of their periods)."""
    if period == "day":
        return (later - first).days
    if period == "week":
        return (later - first).days // 7
    return (later.year - first.year) * 12 + later.month - first.month


def retention(events: list[Ev], cohort_event: str, return_event: str, period: str, date_from: date, date_to: date,
              tz: str, periods: int = 8, today: date | None = None, *, breakdown: str | None = None,
              limit: int = 10) -> dict:
    """Cohorts with ``retained[k]`` (None once period cohort+k starts after ``today``) and ``complete`` (periods k < N
    whose last day is before ``today``); ``today`` defaults to the (pinned) clock's local date in ``tz``.
    ``breakdown``: ``"channel"`` or a property key of each customer's first cohort event (the first stored on a tie)."""
    zone = ZoneInfo(tz)
    today = today or datetime.now(zone).date()
    start, end = _midnight(date_from, zone), _midnight(date_to + timedelta(days=1), zone)
    people = []  # (value, cohort, [came back in period k])
    for person_events in _by_person(events).values():
        firsts = [ev for ev in person_events if ev.event == cohort_event]
        if not firsts:
            continue
        first_event = min(firsts, key=lambda ev: (ev.ts, ev.id))
        first = first_event.ts
        if not (start <= first < end):
            continue
        cohort = _period_start(first.astimezone(zone).date(), period)
        back = [any(ev.event == return_event and ev.ts >= first
                    and _period_index(cohort, _period_start(ev.ts.astimezone(zone).date(), period), period) == k
                    for ev in person_events) for k in range(periods)]
        if breakdown == "channel":
            value = first_event.channel or "(none)"
        else:
            value = (_text(first_event.props, breakdown) if breakdown else None) or "(none)"
        people.append((value, cohort, back))
    result = {"period": period, "cohorts": _cohorts(people, period, periods, today)}
    if breakdown:
        customers = defaultdict(int)
        for value, _cohort, _back in people:
            customers[value] += 1
        ranked = sorted(customers, key=lambda value: (-customers[value], value))
        keep = ranked[:limit]
        groups = [(value, [p for p in people if p[0] == value]) for value in keep]
        if len(ranked) > limit:
            groups.append(("(other)", [p for p in people if p[0] not in keep]))
        result["breakdown"] = [{"value": value, "cohorts": _cohorts(group, period, periods, today)}
                               for value, group in groups]
    return result


def _cohorts(people, period: str, periods: int, today: date) -> list[dict]:
    cohorts: dict[date, dict] = {}
    for _value, cohort, back in people:
        row = cohorts.setdefault(cohort, {"size": 0, "retained": [0] * periods})
        row["size"] += 1
        for k in range(periods):
            row["retained"][k] += back[k]
    out = []
    for cohort, row in sorted(cohorts.items()):
        # walk the calendar one day at a time: period k starts on the day whose index from the cohort becomes k
        day, starts, ends = cohort, {}, {}
        while len(ends) < periods:
            k = _period_index(cohort, _period_start(day, period), period)
            starts.setdefault(k, day)
            if _period_index(cohort, _period_start(day + timedelta(days=1), period), period) != k:
                ends[k] = day
            day += timedelta(days=1)
        out.append({"cohort": cohort.isoformat(), "size": row["size"],
                    "retained": [row["retained"][k] if starts[k] <= today else None for k in range(periods)],
                    "complete": sum(1 for k in range(periods) if ends[k] < today)})
    return out


def retention_average(result: dict) -> list[float | None]:
    """Per period k: retained over size, summed over the cohorts whose period k is complete (None: no such cohort)."""
    width = max((len(c["retained"]) for c in result["cohorts"]), default=0)
    shares = []
    for k in range(width):
        kept = sum(c["retained"][k] for c in result["cohorts"] if k < c["complete"])
        size = sum(c["size"] for c in result["cohorts"] if k < c["complete"])
        shares.append(kept / size if size else None)
    return shares


def golden_time(events: list[Ev], event: str, date_from: date, date_to: date, tz: str) -> list[list[int]]:
    zone = ZoneInfo(tz)
    start, end = _midnight(date_from, zone), _midnight(date_to + timedelta(days=1), zone)
    matrix = [[0] * 24 for _ in range(7)]
    for ev in events:
        if ev.event == event and start <= ev.ts < end:
            local = ev.ts.astimezone(zone)
            matrix[local.weekday()][local.hour] += 1
    return matrix


def as_of(result: dict) -> datetime:
    """The instant a funnel answer was computed at (an input echoed back): the reference reads the same clock."""
    return datetime.fromisoformat(result["window"]["as_of"])
