"""A brute-force reading of DESIGN.md's AARRR semantics, written for clarity, not speed.

Events are ``(order, event, distinct_id, timestamp, properties)``; ``order`` breaks timestamp ties the way
storage order does (the first stored wins).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

NONE = "(none)"


def _channel_of(properties: dict) -> str:
    value = properties.get("channel")
    return NONE if value in (None, "") else str(value)[:100]


def _amount(properties: dict) -> float:
    value = properties.get("amount")
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _referrer(properties: dict) -> str:
    value = properties.get("referrer")
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    return ""


def aarrr_reference(events: list[tuple], *, tz: str, date_from: date, date_to: date) -> dict:
    """{(date, channel): {metric: value}} for the rows with any activity."""
    zone = ZoneInfo(tz)
    ordered = sorted(events, key=lambda e: (e[3], e[0]))
    first: dict[tuple[str, str], tuple] = {}
    for event in ordered:
        first.setdefault((event[1], event[2]), event)

    def first_touch(person: str) -> str:
        visit = first.get(("visit", person))
        return NONE if visit is None else _channel_of(visit[4])

    def day(event) -> date:
        return event[3].astimezone(zone).date()

    rows: dict = defaultdict(lambda: {"acquisition": 0, "activation": 0, "retention": 0, "revenue": 0.0,
                                      "paying_customers": 0, "referral": 0})
    payers: dict = defaultdict(set)
    retained: dict = defaultdict(set)
    for (name, person), event in first.items():
        if not date_from <= day(event) <= date_to:
            continue
        if name == "visit":
            rows[(day(event), first_touch(person))]["acquisition"] += 1
        elif name == "signup":
            rows[(day(event), first_touch(person))]["activation"] += 1
    for event in ordered:
        name, person, d = event[1], event[2], day(event)
        if not date_from <= d <= date_to:
            continue
        key = (d, first_touch(person))
        if name == "order_paid":
            rows[key]["revenue"] += _amount(event[4])
            payers[key].add(person)
            first_order = first[("order_paid", person)]
            if day(first_order) < d:
                retained[key].add(person)
        elif name == "signup" and _referrer(event[4]):
            rows[(d, first_touch(_referrer(event[4])))]["referral"] += 1
    for key, people in payers.items():
        rows[key]["paying_customers"] = len(people)
    for key, people in retained.items():
        rows[key]["retention"] = len(people)
    return {key: {**values, "revenue": round(values["revenue"], 2)} for key, values in rows.items()}
