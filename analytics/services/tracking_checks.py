"""Check stored events against tracking plans handed in as plain dicts (this app knows no domain app).

A plan is ``[{"name", "properties": [{"name", "type": string|number|integer|boolean, "required": bool,
"allowed": [...]?, "pattern": str?}]}]``. Reads only; bad events are never touched (they stay stored),
the result names them by uuid in the examples.

Set-based: coverage and unexpected events are ``GROUP BY event`` in the database; property violations are
vectorised pandas over the planned events of the range (never a Python loop per event). The scan is
bounded by a time range of at most ``MAX_RANGE_DAYS``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import orjson
import pandas as pd
from django.db.models import Count, Min, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from analytics.models import Event
from ops_platform.core.patterns import PatternRefused, pattern_compile, pattern_fullmatch

MAX_RANGE_DAYS = 92
EXAMPLES = 3
VIOLATION_KINDS = ("unexpected_event", "unexpected_property", "wrong_type", "missing_required", "value_not_allowed")


def _iso(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat()


def _type_mask(values: pd.Series, kind: str) -> pd.Series:
    """True where a present value is of the wrong JSON type."""
    types = values.map(type)
    if kind == "string":
        ok = types.eq(str)
    elif kind == "boolean":
        ok = types.eq(bool)
    elif kind == "integer":
        ok = types.eq(int) | (types.eq(float) & values.map(lambda v: isinstance(v, float) and v.is_integer()))
    else:  # number
        ok = types.isin([int, float])
    return ~ok


def _pattern_matches(values: pd.Series, pattern: str) -> pd.Series:
    """Which values fully match a plan's pattern, in RE2 (linear time; core/patterns.py), each distinct value once.
    A pattern RE2 cannot run (from a plan approved before patterns were checked) matches nothing, so its values are
    reported rather than checked with a backtracking engine."""
    texts = values.astype(str)
    try:
        compiled = pattern_compile(pattern)
    except PatternRefused:
        return pd.Series(False, index=values.index)
    verdicts = {text: pattern_fullmatch(compiled, text) for text in texts.unique()}
    return texts.map(verdicts).astype(bool)


def _examples(frame: pd.DataFrame, mask: pd.Series, limit: int) -> list[int]:
    """The ids of the first ``limit`` offending events (the frame is in time order); read in full once at the end."""
    return frame.loc[mask, "id"].head(limit).tolist()


def _json(text: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # an integer past 64 bits: the standard library reads it
        return json.loads(text)


def _planned_frame(in_range, names: list[str]) -> pd.DataFrame:
    """The range's events of ``names`` in time order: id, name and properties only. The properties come as text and
    are parsed with orjson, and nothing else per row is converted (a timestamp or uuid per row cost more than the
    checks: 36k events took 5 s, now under 1); the few examples shown are read afterwards by id."""
    rows = (in_range.filter(event__in=names).order_by("timestamp", "id")
            .annotate(properties_text=Cast("properties", TextField()))
            .values_list("id", "event", "properties_text").iterator(chunk_size=20_000))
    ids, events, properties = [], [], []
    for event_id, event, text in rows:
        ids.append(event_id)
        events.append(event)
        properties.append(_json(text) if text is not None else None)
    return pd.DataFrame({"id": pd.Series(ids, dtype="int64"), "event": pd.Series(events, dtype=object),
                         "properties": pd.Series(properties, dtype=object)})


def _example_rows(ids: list[int]) -> dict[int, dict]:
    rows = Event.objects.filter(id__in=ids).values("id", "uuid", "distinct_id", "timestamp", "properties")
    return {row["id"]: {"uuid": str(row["uuid"]), "distinct_id": row["distinct_id"],
                        "timestamp": _iso(row["timestamp"]), "properties": row["properties"]} for row in rows}


def _property_violations(event_name: str, spec: dict, frame: pd.DataFrame, limit: int) -> list[dict]:
    if frame.empty:
        return []
    props = pd.DataFrame(frame["properties"].map(lambda p: p if isinstance(p, dict) else {}).tolist(),
                         index=frame.index)
    planned = {prop["name"]: prop for prop in spec.get("properties", [])}
    found = []

    def add(kind: str, prop: str | None, mask: pd.Series) -> None:
        count = int(mask.sum())
        if count:
            found.append({"event": event_name, "kind": kind, "property": prop, "count": count,
                          "examples": _examples(frame, mask, limit)})

    for column in sorted(set(props.columns) - set(planned)):
        add("unexpected_property", column, props[column].notna())
    for name, prop in planned.items():
        values = props[name] if name in props.columns else pd.Series(None, index=frame.index, dtype=object)
        present = values.notna()
        if prop.get("required"):
            add("missing_required", name, ~present)
        wrong = pd.Series(False, index=frame.index)
        wrong[present] = _type_mask(values[present], prop.get("type", "string"))
        add("wrong_type", name, wrong)
        checkable = present & ~wrong
        not_allowed = pd.Series(False, index=frame.index)
        if prop.get("allowed"):
            not_allowed[checkable] = ~values[checkable].isin(prop["allowed"])
        if prop.get("pattern"):
            not_allowed[checkable] = not_allowed[checkable] | ~_pattern_matches(values[checkable], prop["pattern"])
        add("value_not_allowed", name, not_allowed)
    return found


def tracking_check(*, plan_events: list[dict], start: datetime, end: datetime, known_events: set[str] | None = None,
                   examples: int = EXAMPLES) -> dict:
    """Events in ``[start, end)`` checked against ``plan_events``.

    Returns ``{"coverage": [{"event", "seen", "count", "first_seen"}], "violations": [{"event", "kind",
    "property", "count", "examples"}], "unexpected_events": [{"event", "count", "first_seen"}], "checked": n}``.
    ``unexpected_events`` lists names outside ``known_events`` (every planned event of every approved plan),
    when given; it is empty otherwise.
    """
    if end <= start:
        raise ValueError("end must be after start")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise ValueError(f"the range may span at most {MAX_RANGE_DAYS} days")
    in_range = Event.objects.filter(timestamp__gte=start, timestamp__lt=end)
    names = [spec["name"] for spec in plan_events]
    seen = {row["event"]: row for row in in_range.filter(event__in=names).values("event").order_by("event")
            .annotate(count=Count("id"), first_seen=Min("timestamp"))}
    coverage = [{"event": name, "seen": name in seen, "count": seen[name]["count"] if name in seen else 0,
                 "first_seen": _iso(seen[name]["first_seen"]) if name in seen else None}
                for name in names]
    unexpected = []
    if known_events is not None:
        rows = (in_range.exclude(event__in=sorted(known_events)).values("event").order_by()
                .annotate(count=Count("id"), first_seen=Min("timestamp")).order_by("-count", "event"))
        unexpected = [{"event": row["event"], "count": row["count"], "first_seen": _iso(row["first_seen"])}
                      for row in rows]
    violations: list[dict] = []
    checked = 0
    planned_seen = [name for name in names if name in seen]
    if planned_seen:
        frame = _planned_frame(in_range, planned_seen)
        checked = len(frame)
        for spec in plan_events:
            violations.extend(_property_violations(spec["name"], spec, frame[frame["event"] == spec["name"]],
                                                   examples))
        shown = _example_rows([i for violation in violations for i in violation["examples"]])
        for violation in violations:
            violation["examples"] = [shown[i] for i in violation["examples"] if i in shown]
    violations.sort(key=lambda v: (-v["count"], v["event"], v["kind"], v["property"] or ""))
    return {"coverage": coverage, "violations": violations, "unexpected_events": unexpected, "checked": checked}
